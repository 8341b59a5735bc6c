// The camera's controls through MediaStreamTrack capabilities, each shown only when the
// device exposes it: zoom stops (mm equivalents) and pinch, exposure compensation,
// exposure time and ISO (manual exposure), white balance, manual focus, torch, the
// exposure/focus point (tap), AE/AF lock (long press, L), street mode's zone focus.

import { $, hook, toast } from "./ui.js";

/** The 35 mm-equivalent focal length of the main camera at zoom 1. Browsers do not say a
 *  camera's field of view: we take a phone main camera's, 79.5 degrees diagonal (26 mm). */
export const BASE_FOV_DEG = 79.5;
export const focalFromFov = (deg) => 21.633 / Math.tan((deg * Math.PI) / 360); // 43.27 mm / 2
export const ZOOM_STOPS = [23, 35, 50, 75, 90];
/** Most digital zoom (a crop of the frame) where the device has no optical/track zoom. */
export const MAX_DIGITAL = 4;
/** Zone focus: the hyperfocal distance at f/8 equivalent, 0.03 mm circle of confusion. */
export const hyperfocal = (mm, n = 8, coc = 0.03) => (mm * mm) / (n * coc) / 1000;

const range = (c) => c && typeof c === "object" && typeof c.max === "number" && c.max > c.min;
const has = (list, v) => Array.isArray(list) && list.includes(v);

function fmtTime(t100us) {
  const s = t100us / 10000;
  return s >= 0.5 ? `${s.toFixed(1)} s` : `1/${Math.round(1 / s)}`;
}
function fmtDistance(m) { return m >= 100 ? "\u221e" : m >= 10 ? `${m.toFixed(0)} m` : `${m.toFixed(2)} m`; }

export class Controls {
  constructor(store, camera, viewfinder) {
    this.store = store;
    this.camera = camera;
    this.viewfinder = viewfinder;
    this.caps = {};
    this.baseFocal = focalFromFov(BASE_FOV_DEG);
  }

  /** Rebuild every control from the current track's capabilities. */
  refresh() {
    this.caps = this.camera.capabilities();
    const s = this.camera.settings();
    const c = this.caps;
    const shown = [];
    const box = $("pro-controls");
    box.replaceChildren();
    const add = (row, name) => { box.append(row); shown.push(name); };
    if (range(c.exposureCompensation)) {
      add(this.slider("ev", "EV", c.exposureCompensation, s.exposureCompensation ?? 0,
        (v) => `${v > 0 ? "+" : ""}${v.toFixed(1)}`,
        (v) => ({ exposureCompensation: v })), "ev");
    }
    if (has(c.exposureMode, "manual") && range(c.exposureTime)) {
      add(this.slider("shutter", "Shutter", c.exposureTime, s.exposureTime ?? c.exposureTime.min,
        fmtTime, (v) => ({ exposureMode: "manual", exposureTime: v }),
        has(c.exposureMode, "continuous") ? { exposureMode: "continuous" } : null), "shutter");
    }
    if (range(c.iso)) {
      add(this.slider("iso", "ISO", c.iso, s.iso ?? c.iso.min, (v) => String(Math.round(v)),
        (v) => (has(c.exposureMode, "manual") ? { exposureMode: "manual", iso: v } : { iso: v }),
        has(c.exposureMode, "continuous") ? { exposureMode: "continuous" } : null), "iso");
    }
    if (has(c.whiteBalanceMode, "manual") && range(c.colorTemperature)) {
      add(this.slider("wb", "WB", c.colorTemperature, s.colorTemperature ?? 5500,
        (v) => `${Math.round(v)} K`, (v) => ({ whiteBalanceMode: "manual", colorTemperature: v }),
        has(c.whiteBalanceMode, "continuous") ? { whiteBalanceMode: "continuous" } : null), "wb");
    }
    if (has(c.focusMode, "manual") && range(c.focusDistance)) {
      add(this.slider("focus", "Focus", c.focusDistance, s.focusDistance ?? c.focusDistance.max,
        fmtDistance, (v) => ({ focusMode: "manual", focusDistance: v }),
        has(c.focusMode, "continuous") ? { focusMode: "continuous" } : null,
        () => { if (!this.store.state.peaking) this.store.set({ peaking: true, peakAuto: true }); }), "focus");
    }
    if (c.torch === true || has(c.torch, true)) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "pill pro-toggle";
      b.id = "ctl-torch";
      b.textContent = "Torch";
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", async () => {
        const on = b.getAttribute("aria-pressed") !== "true";
        if (await this.camera.apply({ torch: on })) b.setAttribute("aria-pressed", String(on));
      });
      const row = document.createElement("div");
      row.className = "pro-row";
      row.dataset.control = "torch";
      row.append(b);
      add(row, "torch");
    }
    this.pointOfInterest = !!(navigator.mediaDevices.getSupportedConstraints?.().pointsOfInterest) &&
      (Array.isArray(c.focusMode) || Array.isArray(c.exposureMode));
    if (this.pointOfInterest) shown.push("point");
    this.lockable = has(c.exposureMode, "manual") || has(c.focusMode, "manual") ||
      has(c.focusMode, "single-shot");
    if (this.lockable) shown.push("lock");
    this.hwZoom = range(c.zoom) ? c.zoom : null;
    if (this.hwZoom) shown.push("zoom");
    hook.controls = shown;
    $("pro-empty").hidden = shown.some((n) => !["point", "lock", "zoom"].includes(n));
    this.buildZoomStops();
    const focal = this.store.state.mode === "street" ? this.store.state.streetFocal : null;
    this.setFocal(focal || this.focalNow(), false);
  }

  /** A labelled range input applying constraints as it moves; "Auto" resets. */
  slider(name, label, cap, value, fmt, constraints, auto = null, onManual = null) {
    const row = document.createElement("div");
    row.className = "pro-row";
    row.dataset.control = name;
    const l = document.createElement("label");
    l.textContent = label;
    l.htmlFor = `ctl-${name}`;
    const input = document.createElement("input");
    input.type = "range";
    input.id = `ctl-${name}`;
    input.min = String(cap.min);
    input.max = String(cap.max);
    input.step = String(cap.step || (cap.max - cap.min) / 100);
    input.value = String(Math.min(cap.max, Math.max(cap.min, value)));
    const out = document.createElement("output");
    out.textContent = fmt(+input.value);
    let pending = null;
    let busy = false;
    const send = async () => {
      if (busy) return;
      busy = true;
      while (pending !== null) {
        const v = pending;
        pending = null;
        await this.camera.apply(constraints(v));
        hook.applied = this.camera.applied.map((a) => a.constraints);
      }
      busy = false;
    };
    input.addEventListener("input", () => {
      const v = +input.value;
      out.textContent = fmt(v);
      row.classList.add("manual");
      if (onManual) onManual();
      pending = v;
      send();
    });
    row.append(l, input, out);
    if (auto) {
      const a = document.createElement("button");
      a.type = "button";
      a.className = "auto";
      a.textContent = "A";
      a.title = `${label}: automatic`;
      a.addEventListener("click", async () => {
        row.classList.remove("manual");
        await this.camera.apply(auto);
        hook.applied = this.camera.applied.map((x) => x.constraints);
        if (name === "focus" && this.store.state.peakAuto) this.store.set({ peaking: false, peakAuto: false });
      });
      row.append(a);
    }
    return row;
  }

  // ---- zoom --------------------------------------------------------------------------------

  /** The focal lengths (mm equivalents) this camera can frame, through its zoom and a crop. */
  focalRange() {
    const z = this.hwZoom;
    const lo = this.baseFocal * (z ? Math.min(1, z.min) : 1);
    const hi = this.baseFocal * (z ? z.max : 1) * MAX_DIGITAL;
    return [lo, hi];
  }

  focalNow() { return this.store.state.focal || this.baseFocal; }

  buildZoomStops() {
    const [lo, hi] = this.focalRange();
    const box = $("zoom-stops");
    const stops = ZOOM_STOPS.filter((mm) => mm >= lo - 0.5 && mm <= hi + 0.5);
    box.replaceChildren(...stops.map((mm) => {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.focal = String(mm);
      b.textContent = String(mm);
      b.title = `${mm} mm`;
      b.addEventListener("click", () => this.setFocal(mm));
      return b;
    }));
    hook.zoomStops = stops;
  }

  /** Frame at ``mm`` (35 mm equivalent): the track's zoom where it has one, then a crop. */
  async setFocal(mm, announce = true) {
    const [lo, hi] = this.focalRange();
    mm = Math.min(hi, Math.max(lo, mm));
    const want = mm / this.baseFocal;
    let hw = 1;
    if (this.hwZoom) {
      const z = this.hwZoom;
      hw = Math.min(z.max, Math.max(z.min, want));
      if (z.step) hw = z.min + Math.round((hw - z.min) / z.step) * z.step;
      await this.camera.apply({ zoom: hw });
      hook.applied = this.camera.applied.map((a) => a.constraints);
    }
    const digital = Math.max(1, want / hw);
    this.store.set({ focal: mm, digitalZoom: digital });
    hook.focal = Math.round(mm * 10) / 10;
    hook.zoom = hw;
    hook.digitalZoom = Math.round(digital * 1000) / 1000;
    for (const b of $("zoom-stops").querySelectorAll("button")) {
      b.setAttribute("aria-pressed", String(Math.abs(+b.dataset.focal - mm) < 0.75));
    }
    $("focal-label").textContent = `${Math.round(mm)} mm`;
    this.viewfinder.fit();
    if (announce) toast(`${Math.round(mm)} mm`, 700);
  }

  // ---- exposure/focus point, lock ------------------------------------------------------------

  /** Tap at (x, y) in 0..1 of the frame: meter and focus there where the device can. */
  async pointAt(x, y) {
    const ring = $("focus-ring");
    ring.style.left = `${x * 100}%`;
    ring.style.top = `${y * 100}%`;
    ring.hidden = false;
    ring.classList.remove("pulse");
    void ring.offsetWidth;
    ring.classList.add("pulse");
    setTimeout(() => { ring.hidden = true; }, 1200);
    if (!this.pointOfInterest) return false;
    // the viewfinder's digital crop: back to the whole frame's coordinates
    const z = this.store.state.digitalZoom || 1;
    const point = { x: 0.5 + (x - 0.5) / z, y: 0.5 + (y - 0.5) / z };
    const c = { pointsOfInterest: [point] };
    if (has(this.caps.focusMode, "single-shot")) c.focusMode = "single-shot";
    else if (has(this.caps.focusMode, "continuous")) c.focusMode = "continuous";
    if (has(this.caps.exposureMode, "continuous")) c.exposureMode = "continuous";
    const ok = await this.camera.apply(c);
    hook.applied = this.camera.applied.map((a) => a.constraints);
    hook.point = point;
    return ok;
  }

  /** AE/AF lock: keep the exposure and focus the camera has now (again: automatic). */
  async toggleLock() {
    const c = this.caps;
    if (!this.lockable) { toast("This camera cannot lock exposure or focus"); return; }
    const lock = !this.store.state.locked;
    const s = this.camera.settings();
    const k = {};
    if (lock) {
      if (has(c.exposureMode, "manual")) {
        k.exposureMode = "manual";
        if (typeof s.exposureTime === "number") k.exposureTime = s.exposureTime;
        if (typeof s.iso === "number") k.iso = s.iso;
      }
      if (has(c.focusMode, "manual")) {
        k.focusMode = "manual";
        if (typeof s.focusDistance === "number") k.focusDistance = s.focusDistance;
      } else if (has(c.focusMode, "single-shot")) k.focusMode = "single-shot";
    } else {
      if (has(c.exposureMode, "continuous")) k.exposureMode = "continuous";
      if (has(c.focusMode, "continuous")) k.focusMode = "continuous";
    }
    const ok = await this.camera.apply(k);
    hook.applied = this.camera.applied.map((a) => a.constraints);
    if (!ok) { toast("The camera refused the lock"); return; }
    this.store.set({ locked: lock });
    hook.locked = lock;
    $("lock-badge").hidden = !lock;
    toast(lock ? "AE/AF locked" : "AE/AF unlocked", 900);
  }

  // ---- street mode -----------------------------------------------------------------------------

  /** Street mode's framing and zone focus (hyperfocal at f/8 equivalent, where the device
   *  lets us set the focus distance); returns the zone's near limit in metres or null. */
  async street(mm) {
    await this.setFocal(mm, false);
    const c = this.caps;
    const h = hyperfocal(mm);
    $("street-zone").textContent = `Zone ${(h / 2).toFixed(1)} m \u2013 \u221e`;
    hook.streetZone = null;
    if (has(c.focusMode, "manual") && range(c.focusDistance)) {
      const d = Math.min(c.focusDistance.max, Math.max(c.focusDistance.min, h));
      if (await this.camera.apply({ focusMode: "manual", focusDistance: d })) {
        hook.streetZone = { hyperfocal: h, distance: d };
        hook.applied = this.camera.applied.map((a) => a.constraints);
        const input = $("ctl-focus");
        if (input) { input.value = String(d); input.dispatchEvent(new Event("change")); }
        return h / 2;
      }
    }
    $("street-zone").textContent = `${Math.round(mm)} mm \u00b7 autofocus`;
    return null;
  }

  /** Leave street mode: autofocus again where we had set the zone. */
  async unstreet() {
    if (hook.streetZone && has(this.caps.focusMode, "continuous")) {
      await this.camera.apply({ focusMode: "continuous" });
      hook.streetZone = null;
    }
  }

  // ---- gestures on the viewfinder ------------------------------------------------------------

  bindGestures(el, { onSwipe }) {
    const pts = new Map();
    let pinch = null;
    let press = null;
    let moved = false;
    el.addEventListener("pointerdown", (e) => {
      if (e.target.closest("button, input, .message")) return;
      pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
      moved = false;
      if (pts.size === 2) {
        const [a, b] = [...pts.values()];
        pinch = { d: Math.hypot(a.x - b.x, a.y - b.y), focal: this.focalNow() };
        clearTimeout(press);
        press = null;
      } else if (pts.size === 1) {
        const start = { x: e.clientX, y: e.clientY };
        clearTimeout(press);
        press = setTimeout(() => {
          press = null;
          if (!moved && pts.size === 1) { this.longPressed = true; this.toggleLock(); }
        }, 650);
        this.downAt = start;
        this.downTime = performance.now();
      }
    });
    el.addEventListener("pointermove", (e) => {
      if (!pts.has(e.pointerId)) return;
      pts.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (this.downAt && Math.hypot(e.clientX - this.downAt.x, e.clientY - this.downAt.y) > 12) moved = true;
      if (pinch && pts.size === 2) {
        const [a, b] = [...pts.values()];
        const d = Math.hypot(a.x - b.x, a.y - b.y);
        if (pinch.d > 10) this.setFocal(pinch.focal * (d / pinch.d), false);
      }
    });
    const end = (e) => {
      if (!pts.has(e.pointerId)) return;
      const start = this.downAt;
      pts.delete(e.pointerId);
      clearTimeout(press);
      press = null;
      if (pinch) { if (pts.size < 2) pinch = null; return; }
      if (this.longPressed) { this.longPressed = false; return; }
      if (!start || e.type === "pointercancel") return;
      if (!moved && performance.now() - this.downTime >= 650) { this.toggleLock(); return; } // a busy page's late timer
      const dx = e.clientX - start.x;
      const dy = e.clientY - start.y;
      if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) { onSwipe(dx < 0 ? 1 : -1); return; }
      if (!moved) {
        const box = $("viewfinder").getBoundingClientRect();
        const x = (e.clientX - box.left) / box.width;
        const y = (e.clientY - box.top) / box.height;
        if (x >= 0 && x <= 1 && y >= 0 && y <= 1) {
          this.pointAt(this.camera.mirrored ? 1 - x : x, y);
        }
      }
    };
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
    el.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return; // trackpad pinch arrives as ctrl+wheel
      e.preventDefault();
      this.setFocal(this.focalNow() * Math.exp(-e.deltaY / 200), false);
    }, { passive: false });
  }
}
