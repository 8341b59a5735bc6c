// Settings and pickers: looks, modes, frames, lens characters, the toggles (grid,
// histogram, level, timer, location, sound, HDR, zebras, peaking) and their labels.

import { onOrientation } from "./viewfinder.js";
import { $, hook, setToggle, toast } from "./ui.js";

export function frameName(name) {
  if (!name || name === "none") return "No frame";
  return name.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase());
}

export class Settings {
  constructor({ store, sound, onLook, onMode, onCharacter }) {
    this.store = store;
    this.onCharacter = onCharacter;
    this.sound = sound;
    this.onLook = onLook;
    this.onMode = onMode;
    this.orientationHandler = (e) => onOrientation(store, e);
  }

  get config() { return this.store.state.config; }

  labelOf(name) {
    const l = (this.config?.looks || []).find((x) => x.name === name);
    return l ? l.label : name;
  }

  looksForMode(mode) {
    const all = this.config.looks;
    const mono = all.filter((l) => l.mono);
    const colour = all.filter((l) => !l.mono);
    const list = mode === "mono" ? mono : colour;
    return list.length ? list : all;
  }

  /** The look shown: a lens character with its own look renders with it (as the server). */
  currentLook() {
    const s = this.store.state;
    const c = s.mode !== "street" && this.characters().find((x) => x.name === s.character);
    if (c && c.look && this.config.looks.some((l) => l.name === c.look)) return c.look;
    const list = this.looksForMode(s.mode);
    const want = s.looks[s.mode];
    if (list.some((l) => l.name === want)) return want;
    const def = this.config.default_look?.[s.mode];
    return list.some((l) => l.name === def) ? def : list[0].name;
  }

  renderLooks() {
    const box = $("looks");
    const longest = Math.max(...this.config.modes.map((m) => this.looksForMode(m).length));
    box.style.setProperty("--looks-max", String(longest));
    const current = this.currentLook();
    box.replaceChildren(...this.looksForMode(this.store.state.mode).map((l) => {
      const b = document.createElement("button");
      b.type = "button";
      b.setAttribute("role", "radio");
      b.dataset.look = l.name;
      b.textContent = l.label;
      if (l.description) b.title = l.description;
      b.setAttribute("aria-checked", String(l.name === current));
      b.addEventListener("click", () => this.setLook(l.name));
      return b;
    }));
  }

  setLook(name, announce = true) {
    const s = this.store.state;
    this.store.set({ looks: { ...s.looks, [s.mode]: name } });
    hook.look = name;
    this.renderLooks();
    this.onLook(name);
    if (announce) toast(this.labelOf(name), 900);
  }

  cycleLook() {
    const list = this.looksForMode(this.store.state.mode);
    const i = list.findIndex((l) => l.name === this.currentLook());
    this.setLook(list[(i + 1) % list.length].name);
  }

  setMode(mode, announce = true) {
    if (!this.config.modes.includes(mode)) return;
    const previous = this.store.state.mode;
    this.store.set({ mode });
    hook.mode = mode;
    $("app").dataset.mode = mode;
    for (const b of $("modes").querySelectorAll("button")) {
      b.setAttribute("aria-checked", String(b.dataset.mode === mode));
    }
    this.renderLooks();
    const look = this.currentLook();
    hook.look = look;
    this.onLook(look);
    this.onMode(mode, previous);
    this.applyToggles();
    if (announce) {
      const cfg = this.config;
      if (mode === "night") {
        toast(cfg.night.merge ? `Night \u00b7 ${cfg.night.frames} frames merged`
          : `Night \u00b7 ${cfg.night.frames} frames kept as a burst`, 1600);
      } else {
        toast({ mono: "Monochrome", street: "Street", photo: "Photo" }[mode] || mode, 900);
      }
    }
  }

  stepMode(d) {
    const modes = this.modeOrder();
    const i = modes.indexOf(this.store.state.mode) + d;
    if (i >= 0 && i < modes.length) this.setMode(modes[i]);
  }

  /** The modes in the order the mode strip shows them. */
  modeOrder() {
    return [...$("modes").querySelectorAll("button[data-mode]")].map((b) => b.dataset.mode)
      .filter((m) => this.config.modes.includes(m));
  }

  // ---- frames ------------------------------------------------------------------------------

  setFrame(name) {
    this.store.set({ frame: name });
    hook.frame = name;
    $("frame-label").textContent = frameName(name);
    // no frame: on a phone's crowded top bar the icon alone says it ("No ..." did not)
    $("btn-frame").classList.toggle("none", !name || name === "none");
    for (const el of $("frame-list").querySelectorAll(".frame-item")) {
      el.setAttribute("aria-checked", String(el.dataset.frame === name));
    }
  }

  buildFrameSheet() {
    const list = $("frame-list");
    list.replaceChildren(...this.config.frames.map((name) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "frame-item";
      b.setAttribute("role", "radio");
      b.dataset.frame = name;
      const p = document.createElement("span");
      p.className = "preview";
      if (name === "none") {
        const s = document.createElement("span");
        s.className = "none";
        s.textContent = "Photo only";
        p.append(s);
      } else {
        const img = document.createElement("img");
        img.loading = "lazy";
        img.alt = "";
        img.src = `/api/frames/${encodeURIComponent(name)}/preview.jpg`;
        p.append(img);
      }
      const n = document.createElement("span");
      n.className = "name";
      n.textContent = frameName(name);
      b.append(p, n);
      b.addEventListener("click", () => { this.setFrame(name); this.closeSheets(); toast(frameName(name), 900); });
      return b;
    }));
    const f = this.store.state.frame;
    this.setFrame(this.config.frames.includes(f) ? f : "none");
  }

  // ---- lens characters -----------------------------------------------------------------------

  characters() { return this.config.characters || []; }

  buildLensSheet() {
    const list = this.characters();
    $("btn-lens").hidden = !list.length;
    const box = $("lens-list");
    const items = [{ name: "none", label: "No character", description: "The lens as it is" }, ...list];
    box.replaceChildren(...items.map((c) => {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "lens-item";
      b.setAttribute("role", "radio");
      b.dataset.character = c.name;
      const n = document.createElement("b");
      n.textContent = c.title || c.label || frameName(c.name);
      const d = document.createElement("span");
      d.textContent = c.description || "";
      b.append(n, d);
      b.addEventListener("click", () => { this.setCharacter(c.name === "none" ? null : c.name); this.closeSheets(); });
      return b;
    }));
    const want = this.store.state.character;
    this.setCharacter(list.some((c) => c.name === want) ? want : null, false);
  }

  setCharacter(name, announce = true) {
    const c = this.characters().find((x) => x.name === name) || null;
    const before = this.store.state.character;
    this.store.set({ character: c ? c.name : null, characterParams: c });
    hook.character = c ? c.name : null;
    $("lens-label").textContent = c ? `${Math.round(c.focal_mm || 0) || ""} ${c.mono ? "B&W" : ""}`.trim() || c.name : "Lens";
    $("btn-lens").title = c ? `Lens character: ${c.title || c.name} (O)` : "Lens character (O)";
    $("btn-lens").classList.toggle("on", !!c);
    for (const el of $("lens-list").querySelectorAll(".lens-item")) {
      el.setAttribute("aria-checked", String(el.dataset.character === (c ? c.name : "none")));
    }
    this.renderLooks();
    this.onLook(this.currentLook());
    if (this.onCharacter && (announce || before !== this.store.state.character)) this.onCharacter(c);
    if (announce) toast(c ? (c.title || c.name) : "No lens character", 900);
  }

  openSheet(id) {
    $(id).hidden = false;
    const current = $(id).querySelector('[aria-checked="true"]');
    if (current) current.focus();
  }

  closeSheets() {
    for (const id of ["frame-sheet", "lens-sheet"]) $(id).hidden = true;
  }

  anySheetOpen() { return !$("frame-sheet").hidden || !$("lens-sheet").hidden; }

  // ---- toggles -------------------------------------------------------------------------------

  applyToggles() {
    const s = this.store.state;
    $("grid").hidden = !s.grid;
    setToggle("btn-grid", s.grid);
    $("histogram").hidden = !s.hist;
    setToggle("btn-hist", s.hist);
    setToggle("btn-level", s.level);
    $("level").hidden = !(s.level && s.orientation);
    $("timer-label").textContent = s.timer ? String(s.timer) : "";
    $("btn-timer").classList.toggle("on", !!s.timer);
    setToggle("btn-location", s.location);
    const hdrAllowed = s.mode !== "night";
    setToggle("btn-hdr", !!s.hdr && hdrAllowed);
    $("btn-hdr").disabled = !hdrAllowed;
    hook.hdr = !!s.hdr && hdrAllowed;
    setToggle("btn-pro", !!s.pro);
    $("pro-panel").hidden = !s.pro;
    setToggle("ctl-zebra", !!s.zebra);
    setToggle("ctl-peaking", !!s.peaking);
    $("zebra-level").value = String(Math.round(s.zebraLevel * 100));
    $("zebra-out").textContent = `${Math.round(s.zebraLevel * 100)}%`;
    setToggle("street-silent", !!s.silent);
    for (const b of $("street-focal").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(+b.dataset.focal === s.streetFocal));
    }
    const off = this.sound.kind === "off";
    $("sound-icon").setAttribute("href", off ? "#i-mute" : "#i-sound");
    $("btn-sound").classList.toggle("on", !off);
    $("btn-sound").title = `Shutter sound: ${{ rangefinder: "rangefinder", leaf: "leaf shutter", off: "off" }[this.sound.kind]}`;
  }

  toggle(key) {
    this.store.set({ [key]: !this.store.state[key] });
    if (key === "peaking") this.store.set({ peakAuto: false });
    this.applyToggles();
  }

  async toggleLevel() {
    const level = !this.store.state.level;
    if (level && typeof DeviceOrientationEvent !== "undefined" &&
        typeof DeviceOrientationEvent.requestPermission === "function") {
      try { await DeviceOrientationEvent.requestPermission(); } catch { /* denied */ }
    }
    this.store.set({ level });
    if (level) {
      window.addEventListener("deviceorientation", this.orientationHandler);
      setTimeout(() => {
        if (this.store.state.level && !this.store.state.orientation) toast("No motion sensor on this device");
      }, 1200);
    }
    this.applyToggles();
  }

  toggleLocation() {
    const s = this.store.state;
    if (s.location) {
      if (s.watch !== null) navigator.geolocation.clearWatch(s.watch);
      this.store.set({ location: false, watch: null, position: null });
      toast("Location off");
    } else if (!navigator.geolocation) {
      toast("Location is not available here");
    } else {
      const watch = navigator.geolocation.watchPosition((p) => {
        this.store.set({ position: { lat: p.coords.latitude, lon: p.coords.longitude,
          alt: p.coords.altitude ?? undefined, t: Date.now() } });
      }, () => {
        toast("Location unavailable");
        this.store.set({ location: false });
        this.applyToggles();
      }, { enableHighAccuracy: true, maximumAge: 60000, timeout: 20000 });
      this.store.set({ location: true, watch });
      toast("Location saved in photos");
    }
    this.applyToggles();
  }
}
