// Shutter sounds through Web Audio: our synthesised WAVs, a few seeds of each, picked at
// random with a slight pitch change, so that a series of shots does not sound looped.

const VARIANTS = 4;

export class ShutterSound {
  constructor(hook) {
    this.hook = hook;
    this.ctx = null;
    this.buffers = new Map();
    this.loading = null;
    this.kind = localStorage.getItem("redframe.sound") || "rangefinder"; // | "leaf" | "off"
  }

  get enabled() { return this.kind !== "off"; }

  /** Create the audio context and decode the sounds (works before any user gesture). */
  load() {
    if (this.loading) return this.loading;
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return (this.loading = Promise.resolve());
    try {
      this.ctx = new AC({ latencyHint: "interactive" });
    } catch {
      return (this.loading = Promise.resolve());
    }
    const jobs = [];
    const want = (key, url) => jobs.push(
      fetch(url).then((r) => {
        if (!r.ok) throw new Error(`${url}: ${r.status}`);
        return r.arrayBuffer();
      }).then((data) => this.ctx.decodeAudioData(data)).then((buf) => {
        if (!this.buffers.has(key)) this.buffers.set(key, []);
        this.buffers.get(key).push(buf);
      }).catch((err) => console.warn("sound", err)));
    for (let seed = 0; seed < VARIANTS; seed++) {
      want("rangefinder", `/api/sounds/rangefinder.wav?seed=${seed}`);
      want("leaf", `/api/sounds/leaf.wav?seed=${seed}`);
    }
    want("night", "/api/sounds/night.wav?seed=0");
    want("night", "/api/sounds/night.wav?seed=1");
    want("long", "/api/sounds/rangefinder.wav?seed=0&exposure=1/8");
    want("long", "/api/sounds/rangefinder.wav?seed=1&exposure=1/8");
    this.loading = Promise.all(jobs);
    return this.loading;
  }

  /** Call from a user gesture: browsers start audio only after one. */
  unlock() {
    if (!this.ctx) this.load();
    if (this.ctx && this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
  }

  cycle() {
    const order = ["rangefinder", "leaf", "off"];
    this.kind = order[(order.indexOf(this.kind) + 1) % order.length];
    localStorage.setItem("redframe.sound", this.kind);
    return this.kind;
  }

  /** Play "shutter" (the chosen click), "night" (capturing cue) or "long" (slow click). */
  play(what = "shutter") {
    if (!this.enabled || !this.ctx) return false;
    const key = what === "shutter" ? this.kind : what;
    const list = this.buffers.get(key);
    if (!list || !list.length) return false;
    if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
    const src = this.ctx.createBufferSource();
    src.buffer = list[(Math.random() * list.length) | 0];
    src.playbackRate.value = 1 + (Math.random() - 0.5) * 0.04;
    const gain = this.ctx.createGain();
    gain.gain.value = 0.9 + Math.random() * 0.1;
    src.connect(gain).connect(this.ctx.destination);
    src.start();
    this.hook.soundPlayed += 1;
    this.hook.lastSound = key;
    return true;
  }
}
