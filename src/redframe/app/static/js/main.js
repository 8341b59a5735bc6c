// redframe camera: boots the modules and wires the page's controls and keys to them.
//   store.js       the state (one object, persisted settings)
//   viewfinder.js  the live preview: LUT, lens character, peaking, zebras, histogram, level
//   controls.js    the track's capabilities: zoom, exposure, focus, white balance, lock
//   capture.js     takePhoto / video frame, night and HDR bursts, upload, timer
//   settings.js    looks, modes, frames, lens characters, toggles
//   gallery.js     the gallery and the full view

import { getJSON } from "./api.js";
import { ShutterSound } from "./audio.js";
import { Camera } from "./camera.js";
import { Capture } from "./capture.js";
import { Controls } from "./controls.js";
import { Gallery } from "./gallery.js";
import { Settings } from "./settings.js";
import { createStore } from "./store.js";
import { $, hook, showMessage, toast } from "./ui.js";
import { Viewfinder } from "./viewfinder.js";

const store = createStore({
  config: null, mode: "photo", looks: {}, frame: "none", grid: false, hist: true, level: false,
  timer: 0, hdr: false, character: null, characterParams: null, zebra: false, zebraLevel: 0.95,
  peaking: false, peakLevel: 0.12, peakAuto: false, pro: false, silent: false, streetFocal: 35,
  fullRes: true, location: false, position: null, watch: null, model: null, busy: false,
  countdown: null, orientation: null, focal: null, digitalZoom: 1, locked: false,
}, { persist: ["mode", "looks", "frame", "grid", "hist", "level", "timer", "hdr", "character",
  "zebra", "zebraLevel", "peaking", "pro", "silent", "streetFocal"] });

const video = $("video");
const camera = new Camera(video);
const sound = new ShutterSound(hook);
let settings;
const viewfinder = new Viewfinder(store, video, $("preview"), {
  lookLabel: (n) => settings.labelOf(n), currentLook: () => settings.currentLook() });
const controls = new Controls(store, camera, viewfinder);
const gallery = new Gallery({
  looks: () => store.state.config?.looks || [],
  characters: () => store.state.config?.characters || [],
  toast,
  onChange: () => {
    const first = gallery.all()[0];
    capture.setLastThumb(first ? first.localUrl || first.urls.thumb : null);
  },
});
settings = new Settings({
  store, sound,
  onLook: (name) => viewfinder.loadLut(name),
  onMode: (mode, previous) => {
    if (mode === "street") enterStreet();
    else if (previous === "street") { controls.unstreet(); controls.setFocal(characterFocal() || controls.baseFocal, false); }
  },
  onCharacter: (c) => {
    if (hook.camera !== "on" || store.state.mode === "street") return;
    controls.setFocal(c && c.focal_mm ? c.focal_mm : controls.baseFocal);
  },
});
function characterFocal() {
  const c = store.state.characterParams;
  return c && c.focal_mm ? c.focal_mm : null;
}
const capture = new Capture({ store, camera, viewfinder, controls, gallery, sound,
  currentLook: () => settings.currentLook() });

async function enterStreet() {
  if (hook.camera !== "on") return;
  await controls.street(store.state.streetFocal);
  hook.street = { focal: store.state.streetFocal };
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
    hook.canTakePhoto = camera.canTakePhoto;
    hook.photoCaps = camera.photoCaps ? {
      width: camera.photoCaps.imageWidth?.max, height: camera.photoCaps.imageHeight?.max } : null;
    $("app").classList.toggle("mirror", camera.mirrored);
    store.set({ locked: false });
    $("lock-badge").hidden = true;
    controls.refresh();
    if (store.state.mode === "street") await enterStreet();
    else if (characterFocal()) await controls.setFocal(characterFocal(), false);
    viewfinder.fit();
    if (!viewfinder.ok) video.classList.add("fallback");
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

// ---- wiring -------------------------------------------------------------------------------

function streetShutter() { return store.state.mode === "street"; }

function bind() {
  const shutter = $("shutter");
  // street mode fires on release (the press is the half-press), other modes on click
  shutter.addEventListener("click", () => { if (!streetShutter()) capture.shutter(); });
  shutter.addEventListener("pointerdown", () => { sound.unlock(); shutter.classList.add("pressed"); });
  shutter.addEventListener("pointerup", () => { if (streetShutter()) capture.shutter(); });
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) {
    shutter.addEventListener(ev, () => shutter.classList.remove("pressed"));
  }
  $("modes").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-mode]");
    if (b) settings.setMode(b.dataset.mode);
  });
  $("btn-grid").addEventListener("click", () => settings.toggle("grid"));
  $("btn-hist").addEventListener("click", () => settings.toggle("hist"));
  $("btn-level").addEventListener("click", () => settings.toggleLevel());
  $("btn-hdr").addEventListener("click", () => {
    settings.toggle("hdr");
    toast(store.state.hdr ? `HDR \u00b7 ${store.state.config.hdr.frames} frames` : "HDR off", 900);
  });
  $("btn-pro").addEventListener("click", () => settings.toggle("pro"));
  $("ctl-zebra").addEventListener("click", () => settings.toggle("zebra"));
  $("ctl-peaking").addEventListener("click", () => settings.toggle("peaking"));
  $("zebra-level").addEventListener("input", (e) => {
    store.set({ zebraLevel: +e.target.value / 100 });
    settings.applyToggles();
  });
  $("btn-timer").addEventListener("click", () => {
    store.set({ timer: { 0: 3, 3: 10, 10: 0 }[store.state.timer] ?? 0 });
    settings.applyToggles();
    toast(store.state.timer ? `Timer ${store.state.timer} s` : "Timer off", 900);
  });
  $("btn-location").addEventListener("click", () => settings.toggleLocation());
  $("btn-sound").addEventListener("click", () => {
    sound.unlock();
    const kind = sound.cycle();
    settings.applyToggles();
    toast({ rangefinder: "Sound: rangefinder", leaf: "Sound: leaf shutter", off: "Sound off" }[kind], 900);
    if (kind !== "off") sound.play("shutter");
  });
  $("btn-frame").addEventListener("click", () => settings.openSheet("frame-sheet"));
  $("btn-lens").addEventListener("click", () => settings.openSheet("lens-sheet"));
  for (const id of ["frame-sheet", "lens-sheet"]) {
    $(id).addEventListener("click", (e) => {
      if (e.target.id === id || e.target.closest("[data-close]")) settings.closeSheets();
    });
  }
  $("street-focal").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-focal]");
    if (!b) return;
    store.set({ streetFocal: +b.dataset.focal });
    settings.applyToggles();
    enterStreet();
    toast(`${b.dataset.focal} mm`, 700);
  });
  $("street-silent").addEventListener("click", () => {
    settings.toggle("silent");
    toast(store.state.silent ? "Silent" : "Shutter sound on", 900);
  });
  $("btn-switch").addEventListener("click", async () => {
    const cams = await camera.cameras();
    if (cams.length < 2 && hook.camera === "on") { toast("Only one camera"); return; }
    await startCamera("next");
  });
  $("btn-gallery").addEventListener("click", () => gallery.show());
  $("message-retry").addEventListener("click", () => startCamera());
  video.addEventListener("resize", () => viewfinder.fit());
  window.addEventListener("resize", () => viewfinder.fit());
  document.addEventListener("pointerdown", () => sound.unlock(), { passive: true });
  controls.bindGestures($("stage"), { onSwipe: (d) => settings.stepMode(d) });

  const blocked = () => gallery.open || settings.anySheetOpen() || !$("confirm").hidden;
  const isShutterKey = (e) => {
    const tag = (e.target && e.target.tagName) || "";
    return e.key === " " || e.code === "Space" || (e.key === "Enter" && tag !== "BUTTON" && tag !== "A");
  };
  document.addEventListener("keyup", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || blocked() || gallery.viewing) return;
    if (isShutterKey(e) && streetShutter()) { e.preventDefault(); capture.shutter(); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    sound.unlock();
    if (e.key === "Escape") {
      if (!$("confirm").hidden) { $("confirm").hidden = true; return; }
      if (settings.anySheetOpen()) { settings.closeSheets(); return; }
      if (gallery.viewing) { gallery.closeViewer(); return; }
      if (gallery.open) { gallery.close(); return; }
      if (store.state.pro) { settings.toggle("pro"); return; }
      if (store.state.countdown) store.state.countdown.cancel();
      return;
    }
    if (gallery.viewing) {
      if (e.key === "ArrowLeft") gallery.step(-1);
      if (e.key === "ArrowRight") gallery.step(1);
      if (e.key === "Delete" || e.key === "Backspace") gallery.confirmDelete();
      return;
    }
    if (blocked()) return;
    if (e.target && e.target.tagName === "INPUT" && e.key.startsWith("Arrow")) return; // a slider
    if (isShutterKey(e)) {
      e.preventDefault();
      if (document.activeElement && document.activeElement !== document.body) {
        document.activeElement.blur(); // the space bar is the shutter, not that button
      }
      if (!e.repeat && !streetShutter()) capture.shutter();
      return;
    }
    const k = e.key.toLowerCase();
    const keys = {
      g: () => $("btn-grid").click(),
      h: () => $("btn-hist").click(),
      t: () => $("btn-timer").click(),
      f: () => settings.openSheet("frame-sheet"),
      c: () => $("btn-switch").click(),
      k: () => settings.cycleLook(),
      m: () => { const modes = settings.modeOrder(); settings.setMode(modes[(modes.indexOf(store.state.mode) + 1) % modes.length]); },
      l: () => controls.toggleLock(),
      s: () => settings.setMode(store.state.mode === "street" ? "photo" : "street"),
      p: () => $("btn-pro").click(),
      r: () => $("btn-hdr").click(),
      z: () => $("ctl-zebra").click(),
      x: () => $("ctl-peaking").click(),
      o: () => { if (!$("btn-lens").hidden) settings.openSheet("lens-sheet"); },
      "+": () => controls.setFocal(controls.focalNow() * 1.25),
      "=": () => controls.setFocal(controls.focalNow() * 1.25),
      "-": () => controls.setFocal(controls.focalNow() / 1.25),
    };
    if (!e.repeat && keys[k]) { keys[k](); return; }
    if (/^[1-5]$/.test(e.key)) {
      const stops = [...$("zoom-stops").querySelectorAll("button")];
      if (stops[+e.key - 1]) stops[+e.key - 1].click();
      return;
    }
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") settings.stepMode(e.key === "ArrowRight" ? 1 : -1);
  });
}

async function boot() {
  let config;
  try {
    config = await getJSON("/api/config");
  } catch (err) {
    showMessage("The camera server is not answering", err.message);
    hook.errors.push(`config: ${err.message}`);
    return;
  }
  store.set({ config });
  viewfinder.init();
  if (navigator.userAgentData && navigator.userAgentData.getHighEntropyValues) {
    navigator.userAgentData.getHighEntropyValues(["model"])
      .then((v) => store.set({ model: v.model || null })).catch(() => {});
  }
  // quick launch: /street, ?mode=street (a home-screen shortcut)
  const params = new URLSearchParams(location.search);
  const wanted = location.pathname === "/street" ? "street" : params.get("mode");
  if (wanted && config.modes.includes(wanted)) store.set({ mode: wanted });
  if (!config.modes.includes(store.state.mode)) store.set({ mode: "photo" });
  bind();
  settings.buildFrameSheet();
  settings.buildLensSheet();
  settings.setMode(store.state.mode, false);
  settings.applyToggles();
  if (store.state.level) window.addEventListener("deviceorientation", settings.orientationHandler);
  const sounds = sound.load();
  gallery.refresh().then((items) => {
    if (items.length && !gallery.local.size) capture.setLastThumb(items[0].urls.thumb);
  });
  await startCamera();
  // (the page works meanwhile; only the test hook waits for the sounds, generated by the
  // server on first use: seconds on a busy machine)
  await Promise.race([sounds, new Promise((r) => setTimeout(r, 20000))]);
  hook.sounds = [...sound.buffers.values()].reduce((n, list) => n + list.length, 0);
  const wait = Date.now() + 4000;
  while (viewfinder.ok && hook.lutLoaded !== settings.currentLook() && Date.now() < wait) {
    await new Promise((r) => setTimeout(r, 50));
  }
  hook.ready = true;
  document.documentElement.dataset.ready = "1";
}

boot();
