// The viewfinder: the live preview (camera frame -> look LUT -> lens character
// approximation -> peaking and zebras, on the GPU), its size on screen, the live
// histogram and the level.

import { drawHistogram, histogram, LutRenderer } from "./gl.js";
import { identityLut, parseCube } from "./lut.js";
import { $, hook, toast } from "./ui.js";

export class Viewfinder {
  constructor(store, video, preview, { lookLabel, currentLook }) {
    this.store = store;
    this.video = video;
    this.preview = preview;
    this.lookLabel = lookLabel;
    this.currentLook = currentLook;
    this.renderer = null;
    this.luts = new Map();
    this.dirty = true;
    this.lastSample = 0;
    this.hasFrameCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
    store.on(["zebra", "zebraLevel", "peaking", "peakLevel", "digitalZoom", "characterParams", "mode"],
      () => this.applyOverlays());
  }

  get ok() { return !!(this.renderer && this.renderer.ok); }

  /** Create the WebGL renderer; false when the browser has no WebGL (plain video shown). */
  init() {
    try {
      this.renderer = new LutRenderer(this.preview);
      hook.gl = this.renderer.kind;
    } catch (err) {
      hook.errors.push(`webgl: ${err.message}`);
      this.renderer = null;
    }
    if (!this.ok) {
      this.preview.hidden = true;
      this.video.classList.add("fallback");
      toast("Live look preview needs WebGL", 2500);
      return false;
    }
    this.applyOverlays();
    if (this.hasFrameCallback) {
      const onFrame = () => { this.dirty = true; this.video.requestVideoFrameCallback(onFrame); };
      this.video.requestVideoFrameCallback(onFrame);
    }
    requestAnimationFrame(() => this.loop());
    return true;
  }

  applyOverlays() {
    const s = this.store.state;
    if (this.ok) {
      this.renderer.zebra = s.zebra ? s.zebraLevel : 0;
      this.renderer.peaking = s.peaking ? s.peakLevel : 0;
      this.renderer.zoom = s.digitalZoom || 1;
      this.renderer.setCharacter(s.mode === "street" ? null : s.characterParams);
    }
    hook.overlays = { zebra: !!s.zebra, peaking: !!s.peaking, zebraLevel: s.zebraLevel };
    this.dirty = true;
  }

  /** Size the viewfinder to the camera frame's aspect inside the stage. */
  fit() {
    const vf = $("viewfinder");
    const stage = $("stage");
    const w = this.video.videoWidth;
    const h = this.video.videoHeight;
    const box = stage.getBoundingClientRect();
    const cs = getComputedStyle(stage);
    const bw = box.width - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const bh = box.height - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    if (!w || !h || !bw || !bh) {
      vf.style.width = "";
      vf.style.height = "";
      vf.classList.remove("sized");
      return;
    }
    const ar = w / h;
    let fw = bw;
    let fh = bw / ar;
    if (fh > bh) { fh = bh; fw = bh * ar; }
    vf.style.width = `${Math.floor(fw)}px`;
    vf.style.height = `${Math.floor(fh)}px`;
    vf.classList.add("sized");
    // without WebGL the digital zoom is a CSS scale of the video
    this.video.style.transform = this.ok ? "" : `scale(${this.store.state.digitalZoom || 1})`;
  }

  // Draw when the camera delivered a new frame (or a setting changed), not on every display
  // refresh: a 30 fps camera on a 120 Hz screen needs a quarter of the GPU work.
  loop() {
    const r = this.renderer;
    if (r && r.ok && (this.dirty || !this.hasFrameCallback) && r.draw(this.video)) {
      this.dirty = false;
      hook.framesDrawn += 1;
      const now = performance.now();
      if (now - this.lastSample > 250) {
        this.lastSample = now;
        const px = r.sample();
        if (px) {
          const h = histogram(px);
          hook.mean = h.mean.map((v) => Math.round(v * 10) / 10);
          if (this.store.state.hist) drawHistogram($("histogram"), h.bins, h.rgb);
        }
      }
    }
    requestAnimationFrame(() => this.loop());
  }

  async loadLut(name) {
    if (!this.ok) { hook.lutLoaded = name; return; }
    let lut = this.luts.get(name);
    if (!lut) {
      try {
        const r = await fetch(`/api/looks/${encodeURIComponent(name)}/lut.cube?size=33`,
          { credentials: "same-origin" });
        if (!r.ok) throw new Error(`${r.status}`);
        lut = parseCube(await r.text());
      } catch (err) {
        hook.errors.push(`lut ${name}: ${err.message}`);
        toast(`Preview of ${this.lookLabel(name)} unavailable`);
        lut = identityLut(2);
      }
      this.luts.set(name, lut);
    }
    if (this.currentLook() === name) {
      this.renderer.setLut(lut);
      this.dirty = true;
      hook.lutLoaded = name;
    }
  }

  /** A small JPEG data URL of the looked preview as it is now (no overlays). */
  snapshot(grabCanvas) {
    const r = this.renderer;
    const src = r && r.ok && r.hasFrame ? this.preview : grabCanvas;
    if (r && r.ok) r.draw(this.video, false);
    const c = document.createElement("canvas");
    const s = 160 / Math.max(src.width, src.height);
    c.width = Math.max(1, Math.round(src.width * s));
    c.height = Math.max(1, Math.round(src.height * s));
    c.getContext("2d").drawImage(src, 0, 0, c.width, c.height);
    this.dirty = true;
    return c.toDataURL("image/jpeg", 0.8);
  }
}

// ---- level (device orientation) -------------------------------------------------------------

export function onOrientation(store, e) {
  if (e.beta === null || e.gamma === null) return;
  const rad = Math.PI / 180;
  const b = e.beta * rad;
  const g = e.gamma * rad;
  const gx = Math.cos(b) * Math.sin(g);
  const gy = -Math.sin(b);
  const gz = -Math.cos(b) * Math.cos(g);
  const screenAngle = (screen.orientation && screen.orientation.angle) || window.orientation || 0;
  let roll = Math.atan2(gx, -gy) / rad - screenAngle;
  roll = ((roll + 540) % 360) - 180;
  const orientation = { roll, flat: Math.abs(gz) > 0.9 };
  store.set({ orientation });
  const lvl = $("level");
  lvl.hidden = !store.state.level || orientation.flat;
  lvl.querySelector(".level-line").style.transform = `rotate(${-roll}deg)`;
  lvl.classList.toggle("flat", Math.abs(roll) < 1);
}
