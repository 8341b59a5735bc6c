// redframe camera: the viewfinder, the controls, capture and upload.

import { clientId, getJSON, localIso, uploadCapture, waitDeveloped } from "./api.js";
import { ShutterSound } from "./audio.js";
import { Camera } from "./camera.js";
import { Gallery } from "./gallery.js";
import { drawHistogram, histogram, LutRenderer } from "./gl.js";
import { identityLut, parseCube } from "./lut.js";

const $ = (id) => document.getElementById(id);

// Test and debugging hook: what the app did, readable from the page.
const hook = (window.__redframe = {
  ready: false, gl: "none", camera: "starting", mode: "photo", look: null, lutLoaded: null,
  frame: "none", framesDrawn: 0, soundPlayed: 0, lastSound: "", captures: 0, uploaded: 0,
  developed: 0, lastCapture: null, mean: null, errors: [],
});

const saved = (() => {
  try { return JSON.parse(localStorage.getItem("redframe.settings") || "{}"); } catch { return {}; }
})();
const state = {
  config: null,
  mode: saved.mode || "photo",
  looks: saved.looks || {},
  frame: saved.frame || "none",
  grid: !!saved.grid,
  hist: saved.hist !== false,
  level: !!saved.level,
  timer: saved.timer || 0,
  location: false,
  position: null,
  watch: null,
  model: null,
  busy: false,
  countdown: null,
  orientation: null,
};
function persist() {
  const { mode, looks, frame, grid, hist, level, timer } = state;
  localStorage.setItem("redframe.settings", JSON.stringify({ mode, looks, frame, grid, hist, level, timer }));
}

const app = $("app");
const video = $("video");
const preview = $("preview");
const camera = new Camera(video);
const sound = new ShutterSound(hook);
let renderer = null;
const luts = new Map();

// ---- small UI helpers ------------------------------------------------------------------

let toastTimer = null;
function toast(text, ms = 1800) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), ms);
}

function flash() {
  const b = $("blackout");
  b.classList.remove("flash");
  void b.offsetWidth; // restart the animation
  b.classList.add("flash");
}

function showMessage(title, text, retry = true) {
  $("message-title").textContent = title;
  $("message-text").textContent = text;
  $("message-retry").hidden = !retry;
  $("message").hidden = false;
}

function labelOf(name) {
  const l = (state.config?.looks || []).find((x) => x.name === name);
  return l ? l.label : name;
}

// ---- viewfinder ----------------------------------------------------------------------------

function fitViewfinder() {
  const vf = $("viewfinder");
  const stage = $("stage");
  const w = video.videoWidth;
  const h = video.videoHeight;
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
}

let lastSample = 0;
// Draw when the camera delivered a new frame (or the look changed), not on every display
// refresh: a 30 fps camera on a 120 Hz screen needs a quarter of the GPU work.
let dirty = true;
const hasFrameCallback = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
function onVideoFrame() {
  dirty = true;
  video.requestVideoFrameCallback(onVideoFrame);
}
if (hasFrameCallback) video.requestVideoFrameCallback(onVideoFrame);

function frameLoop() {
  if (renderer && renderer.ok && (dirty || !hasFrameCallback) && renderer.draw(video)) {
    dirty = false;
    hook.framesDrawn += 1;
    const now = performance.now();
    if (now - lastSample > 250) {
      lastSample = now;
      const px = renderer.sample();
      if (px) {
        const h = histogram(px);
        hook.mean = h.mean.map((v) => Math.round(v * 10) / 10);
        if (state.hist) drawHistogram($("histogram"), h.bins);
      }
    }
  }
  requestAnimationFrame(frameLoop);
}

async function loadLut(name) {
  if (!renderer || !renderer.ok) { hook.lutLoaded = name; return; }
  let lut = luts.get(name);
  if (!lut) {
    try {
      const r = await fetch(`/api/looks/${encodeURIComponent(name)}/lut.cube?size=33`,
        { credentials: "same-origin" });
      if (!r.ok) throw new Error(`${r.status}`);
      lut = parseCube(await r.text());
    } catch (err) {
      hook.errors.push(`lut ${name}: ${err.message}`);
      toast(`Preview of ${labelOf(name)} unavailable`);
      lut = identityLut(2);
    }
    luts.set(name, lut);
  }
  if (currentLook() === name) {
    renderer.setLut(lut);
    dirty = true;
    hook.lutLoaded = name;
  }
}

async function startCamera(deviceId = null) {
  $("message").hidden = true;
  hook.camera = "starting";
  if (!window.isSecureContext) {
    hook.camera = "insecure";
    showMessage("The camera needs a secure page",
      "Browsers give the camera only to https pages or to localhost. Start the server with " +
      "\u201credframe serve --https\u201d and open the https link it prints (the token is in it).", false);
    return;
  }
  if (!Camera.supported()) {
    hook.camera = "unsupported";
    showMessage("No camera access", "This browser does not offer getUserMedia.", false);
    return;
  }
  try {
    await (deviceId === "next" ? camera.next() : camera.start(deviceId));
    hook.camera = "on";
    hook.device = camera.track ? camera.track.label : "";
    app.classList.toggle("mirror", camera.mirrored);
    fitViewfinder();
    if (!renderer || !renderer.ok) {
      video.classList.add("fallback");
    }
  } catch (err) {
    hook.camera = "error";
    hook.errors.push(`camera: ${err.name}: ${err.message}`);
    const why = {
      NotAllowedError: ["Camera permission denied",
        "Allow the camera for this site in the browser\u2019s settings, then try again."],
      NotFoundError: ["No camera found", "Connect a camera, then try again."],
      OverconstrainedError: ["No camera found", "No camera matches; try again."],
      NotReadableError: ["The camera is busy", "Another app is using the camera. Close it, then try again."],
    }[err.name] || ["Camera unavailable", err.message || String(err)];
    showMessage(why[0], why[1]);
  }
}

// ---- controls ------------------------------------------------------------------------------

function looksForMode(mode) {
  const all = state.config.looks;
  const mono = all.filter((l) => l.mono);
  const colour = all.filter((l) => !l.mono);
  const list = mode === "mono" ? mono : colour;
  return list.length ? list : all;
}

function currentLook() {
  const list = looksForMode(state.mode);
  const want = state.looks[state.mode];
  if (list.some((l) => l.name === want)) return want;
  const def = state.config.default_look?.[state.mode];
  return list.some((l) => l.name === def) ? def : list[0].name;
}

function renderLooks() {
  const box = $("looks");
  const longest = Math.max(...state.config.modes.map((m) => looksForMode(m).length));
  box.style.setProperty("--looks-max", String(longest));
  const current = currentLook();
  box.replaceChildren(...looksForMode(state.mode).map((l) => {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("role", "radio");
    b.dataset.look = l.name;
    b.textContent = l.label;
    if (l.description) b.title = l.description;
    b.setAttribute("aria-checked", String(l.name === current));
    b.addEventListener("click", () => setLook(l.name));
    return b;
  }));
}

function setLook(name, announce = true) {
  state.looks[state.mode] = name;
  hook.look = name;
  persist();
  renderLooks();
  loadLut(name);
  if (announce) toast(labelOf(name), 900);
}

function setMode(mode, announce = true) {
  if (!state.config.modes.includes(mode)) return;
  state.mode = mode;
  hook.mode = mode;
  app.dataset.mode = mode;
  for (const b of $("modes").querySelectorAll("button")) {
    b.setAttribute("aria-checked", String(b.dataset.mode === mode));
  }
  persist();
  renderLooks();
  const look = currentLook();
  hook.look = look;
  loadLut(look);
  if (announce) {
    if (mode === "night") {
      toast(state.config.night.merge ? `Night \u00b7 ${state.config.night.frames} frames merged`
        : `Night \u00b7 ${state.config.night.frames} frames kept as a burst`, 1600);
    } else {
      toast(mode === "mono" ? "Monochrome" : "Photo", 900);
    }
  }
}

function frameName(name) {
  if (!name || name === "none") return "No frame";
  return name.replace(/-/g, " ").replace(/^./, (c) => c.toUpperCase());
}

function setFrame(name) {
  state.frame = name;
  hook.frame = name;
  $("frame-label").textContent = frameName(name);
  for (const el of $("frame-list").querySelectorAll(".frame-item")) {
    el.setAttribute("aria-checked", String(el.dataset.frame === name));
  }
  persist();
}

function buildFrameSheet() {
  const list = $("frame-list");
  list.replaceChildren(...state.config.frames.map((name) => {
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
    b.addEventListener("click", () => { setFrame(name); closeSheet(); toast(frameName(name), 900); });
    return b;
  }));
  setFrame(state.config.frames.includes(state.frame) ? state.frame : "none");
}

function openSheet() {
  $("frame-sheet").hidden = false;
  const current = $("frame-list").querySelector('[aria-checked="true"]');
  if (current) current.focus();
}
function closeSheet() { $("frame-sheet").hidden = true; }

function setToggle(id, on) {
  $(id).setAttribute("aria-pressed", String(on));
}

function applyToggles() {
  $("grid").hidden = !state.grid;
  setToggle("btn-grid", state.grid);
  $("histogram").hidden = !state.hist;
  setToggle("btn-hist", state.hist);
  setToggle("btn-level", state.level);
  $("level").hidden = !(state.level && state.orientation);
  $("timer-label").textContent = state.timer ? String(state.timer) : "";
  $("btn-timer").classList.toggle("on", !!state.timer);
  setToggle("btn-location", state.location);
  const off = sound.kind === "off";
  $("sound-icon").setAttribute("href", off ? "#i-mute" : "#i-sound");
  $("btn-sound").classList.toggle("on", !off);
  $("btn-sound").title = `Shutter sound: ${{ rangefinder: "rangefinder", leaf: "leaf shutter", off: "off" }[sound.kind]}`;
}

// ---- level (device orientation) -------------------------------------------------------------

function onOrientation(e) {
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
  state.orientation = { roll, flat: Math.abs(gz) > 0.9 };
  const lvl = $("level");
  lvl.hidden = !state.level || state.orientation.flat;
  lvl.querySelector(".level-line").style.transform = `rotate(${-roll}deg)`;
  lvl.classList.toggle("flat", Math.abs(roll) < 1);
}

async function toggleLevel() {
  state.level = !state.level;
  if (state.level && typeof DeviceOrientationEvent !== "undefined" &&
      typeof DeviceOrientationEvent.requestPermission === "function") {
    try { await DeviceOrientationEvent.requestPermission(); } catch { /* denied */ }
  }
  if (state.level) {
    window.addEventListener("deviceorientation", onOrientation);
    setTimeout(() => { if (state.level && !state.orientation) toast("No motion sensor on this device"); }, 1200);
  }
  persist();
  applyToggles();
}

// ---- location (opt-in) ----------------------------------------------------------------------

function toggleLocation() {
  if (state.location) {
    state.location = false;
    if (state.watch !== null) navigator.geolocation.clearWatch(state.watch);
    state.watch = null;
    state.position = null;
    toast("Location off");
  } else if (!navigator.geolocation) {
    toast("Location is not available here");
  } else {
    state.location = true;
    state.watch = navigator.geolocation.watchPosition((p) => {
      state.position = { lat: p.coords.latitude, lon: p.coords.longitude,
        alt: p.coords.altitude ?? undefined, t: Date.now() };
    }, () => {
      toast("Location unavailable");
      state.location = false;
      applyToggles();
    }, { enableHighAccuracy: true, maximumAge: 60000, timeout: 20000 });
    toast("Location saved in photos");
  }
  applyToggles();
}

// ---- capture ----------------------------------------------------------------------------

function captureMeta() {
  const meta = { taken: localIso(), ...camera.info() };
  if (state.model) meta.model = state.model;
  if (state.location && state.position && Date.now() - state.position.t < 120000) {
    const { lat, lon, alt } = state.position;
    meta.location = { lat, lon, alt };
  }
  return meta;
}

function thumbSnapshot() {
  // the looked preview as it is now (the same frame the capture took), for instant feedback
  const src = renderer && renderer.ok && renderer.hasFrame ? preview : camera.grabCanvas;
  if (renderer && renderer.ok) renderer.draw(video);
  const c = document.createElement("canvas");
  const s = 160 / Math.max(src.width, src.height);
  c.width = Math.max(1, Math.round(src.width * s));
  c.height = Math.max(1, Math.round(src.height * s));
  c.getContext("2d").drawImage(src, 0, 0, c.width, c.height);
  return c.toDataURL("image/jpeg", 0.8);
}

function setLastThumb(url, pop = false) {
  const img = $("last-thumb");
  if (url) img.src = url;
  else img.removeAttribute("src");
  const btn = $("btn-gallery");
  if (pop) {
    btn.classList.remove("pop");
    void btn.offsetWidth;
    btn.classList.add("pop");
  }
}

let uploading = 0;
function updateBadge() {
  const b = $("upload-badge");
  b.hidden = uploading === 0;
  b.textContent = String(uploading);
}

async function submit({ blobs, localUrl, kind }) {
  const id = clientId();
  const look = currentLook();
  const entry = { id: null, clientId: id, state: "uploading", localUrl, kind, urls: null, look,
    frame: state.frame === "none" ? null : state.frame, created: Date.now() / 1000,
    taken: localIso(), frames: blobs.length };
  gallery.local.set(id, entry);
  if (gallery.open) gallery.render();
  setLastThumb(localUrl, true);
  hook.captures += 1;
  uploading += 1;
  updateBadge();
  let item;
  try {
    item = await uploadCapture({ blobs, look, frame: state.frame, mode: state.mode,
      meta: captureMeta(), id }, () => toast("Upload failed \u2014 retrying"));
  } catch (err) {
    toast(`Not saved: ${err.message}`, 3500);
    hook.errors.push(`upload: ${err.message}`);
    gallery.local.delete(id);
    if (gallery.open) gallery.render();
    return;
  } finally {
    uploading -= 1;
    updateBadge();
  }
  hook.uploaded += 1;
  hook.lastCapture = item;
  entry.serverId = item.id;
  gallery.items = [item, ...gallery.items.filter((i) => i.id !== item.id)];
  gallery.local.delete(id);
  if (gallery.open) gallery.render();
  let done;
  try {
    done = await waitDeveloped(item.id);
  } catch {
    return;
  }
  hook.developed += 1;
  hook.lastCapture = done;
  const i = gallery.items.findIndex((x) => x.id === done.id);
  if (i >= 0) gallery.items[i] = done;
  if (gallery.open) gallery.render();
  if (gallery.items[0] && gallery.items[0].id === done.id) setLastThumb(done.urls.thumb);
  if (done.state === "error") toast("Could not develop \u2014 kept as shot", 2500);
}

async function capturePhoto() {
  state.busy = true;
  $("shutter").classList.add("busy");
  try {
    sound.play("shutter");
    flash();
    const blob = camera.grabJpeg(0.95);
    const localUrl = thumbSnapshot();
    submit({ blobs: [blob], localUrl, kind: "photo" });
  } finally {
    setTimeout(() => { state.busy = false; $("shutter").classList.remove("busy"); }, 180);
  }
}

function setRing(fraction) {
  const c = 2 * Math.PI * 46;
  $("ring-progress").style.strokeDashoffset = String(c * (1 - fraction));
}

async function captureNight() {
  const n = state.config.night.frames;
  state.busy = true;
  $("shutter").classList.add("busy");
  $("night-hud").hidden = false;
  $("night-count").textContent = `0 / ${n}`;
  $("night-bar").style.width = "0%";
  sound.play("night");
  const blobs = [];
  let localUrl = null;
  try {
    for (let i = 0; i < n; i++) {
      await camera.nextFrame();
      blobs.push(camera.grabJpeg(0.92));
      if (i === 0) localUrl = thumbSnapshot();
      $("night-count").textContent = `${i + 1} / ${n}`;
      $("night-bar").style.width = `${((i + 1) / n) * 100}%`;
      setRing((i + 1) / n);
      hook.nightProgress = i + 1;
    }
    sound.play("long");
    flash();
    submit({ blobs, localUrl, kind: "burst" });
  } finally {
    setTimeout(() => {
      $("night-hud").hidden = true;
      setRing(0);
      state.busy = false;
      $("shutter").classList.remove("busy");
    }, 250);
  }
}

function countdown(seconds) {
  return new Promise((resolve) => {
    let left = seconds;
    const box = $("countdown");
    const num = $("countdown-n");
    box.hidden = false;
    num.textContent = String(left);
    setRing(0);
    const started = performance.now();
    const ring = setInterval(() => setRing(Math.min(1, (performance.now() - started) / (seconds * 1000))), 50);
    const timer = setInterval(() => {
      left -= 1;
      if (left <= 0) finish(true);
      else num.textContent = String(left);
    }, 1000);
    function finish(go) {
      clearInterval(timer);
      clearInterval(ring);
      setRing(0);
      box.hidden = true;
      state.countdown = null;
      resolve(go);
    }
    state.countdown = { cancel: () => finish(false) };
  });
}

async function onShutter() {
  sound.unlock();
  if (state.countdown) { state.countdown.cancel(); toast("Timer cancelled", 900); return; }
  if (state.busy) return;
  if (hook.camera !== "on" || !video.videoWidth) { toast("No camera"); return; }
  if (state.timer) {
    const go = await countdown(state.timer);
    if (!go) return;
  }
  if (state.mode === "night") await captureNight();
  else await capturePhoto();
}

// ---- wiring -------------------------------------------------------------------------------

const gallery = new Gallery({
  looks: () => state.config?.looks || [],
  toast,
  onChange: () => {
    const first = gallery.all()[0];
    setLastThumb(first ? first.localUrl || first.urls.thumb : null);
  },
});

function bind() {
  $("shutter").addEventListener("click", onShutter);
  $("shutter").addEventListener("pointerdown", () => { sound.unlock(); $("shutter").classList.add("pressed"); });
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) {
    $("shutter").addEventListener(ev, () => $("shutter").classList.remove("pressed"));
  }
  $("modes").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-mode]");
    if (b) setMode(b.dataset.mode);
  });
  $("btn-grid").addEventListener("click", () => { state.grid = !state.grid; persist(); applyToggles(); });
  $("btn-hist").addEventListener("click", () => { state.hist = !state.hist; persist(); applyToggles(); });
  $("btn-level").addEventListener("click", toggleLevel);
  $("btn-timer").addEventListener("click", () => {
    state.timer = { 0: 3, 3: 10, 10: 0 }[state.timer] ?? 0;
    persist();
    applyToggles();
    toast(state.timer ? `Timer ${state.timer} s` : "Timer off", 900);
  });
  $("btn-location").addEventListener("click", toggleLocation);
  $("btn-sound").addEventListener("click", () => {
    sound.unlock();
    const kind = sound.cycle();
    applyToggles();
    toast({ rangefinder: "Sound: rangefinder", leaf: "Sound: leaf shutter", off: "Sound off" }[kind], 900);
    if (kind !== "off") sound.play("shutter");
  });
  $("btn-frame").addEventListener("click", openSheet);
  $("frame-sheet").addEventListener("click", (e) => {
    if (e.target.id === "frame-sheet" || e.target.closest("[data-close]")) closeSheet();
  });
  $("btn-switch").addEventListener("click", async () => {
    const cams = await camera.cameras();
    if (cams.length < 2 && hook.camera === "on") { toast("Only one camera"); return; }
    await startCamera("next");
  });
  $("btn-gallery").addEventListener("click", () => gallery.show());
  $("message-retry").addEventListener("click", () => startCamera());
  video.addEventListener("resize", fitViewfinder);
  window.addEventListener("resize", fitViewfinder);
  document.addEventListener("pointerdown", () => sound.unlock(), { passive: true });

  // swipe on the viewfinder to change mode
  let touch = null;
  $("stage").addEventListener("touchstart", (e) => {
    touch = { x: e.touches[0].clientX, y: e.touches[0].clientY };
  }, { passive: true });
  $("stage").addEventListener("touchend", (e) => {
    if (!touch) return;
    const dx = e.changedTouches[0].clientX - touch.x;
    const dy = e.changedTouches[0].clientY - touch.y;
    touch = null;
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) {
      const modes = state.config.modes;
      const i = modes.indexOf(state.mode) + (dx < 0 ? 1 : -1);
      if (i >= 0 && i < modes.length) setMode(modes[i]);
    }
  });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    sound.unlock();
    if (e.key === "Escape") {
      if (!$("confirm").hidden) { $("confirm").hidden = true; return; }
      if (!$("frame-sheet").hidden) { closeSheet(); return; }
      if (gallery.viewing) { gallery.closeViewer(); return; }
      if (gallery.open) { gallery.close(); return; }
      if (state.countdown) state.countdown.cancel();
      return;
    }
    if (gallery.viewing) {
      if (e.key === "ArrowLeft") gallery.step(-1);
      if (e.key === "ArrowRight") gallery.step(1);
      if (e.key === "Delete" || e.key === "Backspace") gallery.confirmDelete();
      return;
    }
    if (gallery.open || !$("frame-sheet").hidden || !$("confirm").hidden) return;
    const tag = (e.target && e.target.tagName) || "";
    if (e.key === " " || e.code === "Space" || (e.key === "Enter" && tag !== "BUTTON" && tag !== "A")) {
      e.preventDefault();
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur(); // the space bar is the shutter, not that button
      }
      if (!e.repeat) onShutter();
      return;
    }
    const k = e.key.toLowerCase();
    if (k === "g") $("btn-grid").click();
    else if (k === "h") $("btn-hist").click();
    else if (k === "t") $("btn-timer").click();
    else if (k === "f") openSheet();
    else if (k === "c") $("btn-switch").click();
    else if (k === "l" || k === "m") {
      if (k === "l") {
        const list = looksForMode(state.mode);
        const i = list.findIndex((l) => l.name === currentLook());
        setLook(list[(i + 1) % list.length].name);
      } else {
        const modes = state.config.modes;
        setMode(modes[(modes.indexOf(state.mode) + 1) % modes.length]);
      }
    } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      const modes = state.config.modes;
      const i = modes.indexOf(state.mode) + (e.key === "ArrowRight" ? 1 : -1);
      if (i >= 0 && i < modes.length) setMode(modes[i]);
    }
  });
}

async function boot() {
  try {
    state.config = await getJSON("/api/config");
  } catch (err) {
    showMessage("The camera server is not answering", err.message);
    hook.errors.push(`config: ${err.message}`);
    return;
  }
  try {
    renderer = new LutRenderer(preview);
    hook.gl = renderer.kind;
  } catch (err) {
    hook.errors.push(`webgl: ${err.message}`);
    renderer = null;
  }
  if (!renderer || !renderer.ok) {
    preview.hidden = true;
    video.classList.add("fallback");
    toast("Live look preview needs WebGL", 2500);
  }
  if (navigator.userAgentData && navigator.userAgentData.getHighEntropyValues) {
    navigator.userAgentData.getHighEntropyValues(["model"])
      .then((v) => { state.model = v.model || null; }).catch(() => {});
  }
  bind();
  buildFrameSheet();
  if (!state.config.modes.includes(state.mode)) state.mode = "photo";
  setMode(state.mode, false);
  applyToggles();
  if (state.level) window.addEventListener("deviceorientation", onOrientation);
  const sounds = sound.load();
  requestAnimationFrame(frameLoop);
  gallery.refresh().then((items) => {
    if (items.length && !gallery.local.size) setLastThumb(items[0].urls.thumb);
  });
  await startCamera();
  await Promise.race([sounds, new Promise((r) => setTimeout(r, 4000))]);
  hook.sounds = [...sound.buffers.values()].reduce((n, list) => n + list.length, 0);
  const wait = Date.now() + 4000;
  while (renderer && renderer.ok && hook.lutLoaded !== currentLook() && Date.now() < wait) {
    await new Promise((r) => setTimeout(r, 50));
  }
  hook.ready = true;
  document.documentElement.dataset.ready = "1";
}

boot();
