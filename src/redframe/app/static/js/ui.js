// Small UI helpers shared by the modules: element lookup, toasts, the shutter blackout,
// the full-screen message, and the test/debug hook (window.__redframe).

export const $ = (id) => document.getElementById(id);

// Test and debugging hook: what the app did, readable from the page.
export const hook = (window.__redframe = {
  ready: false, gl: "none", camera: "starting", mode: "photo", look: null, lutLoaded: null,
  frame: "none", framesDrawn: 0, soundPlayed: 0, lastSound: "", captures: 0, uploaded: 0,
  developed: 0, lastCapture: null, mean: null, errors: [], controls: [], applied: [],
  focal: null, zoom: 1, digitalZoom: 1, source: null, photoSize: null, locked: false,
  character: null, hdr: false, overlays: { zebra: false, peaking: false },
});

let toastTimer = null;
export function toast(text, ms = 1800) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => t.classList.remove("show"), ms);
}

export function flash() {
  const b = $("blackout");
  b.classList.remove("flash");
  void b.offsetWidth; // restart the animation
  b.classList.add("flash");
}

export function showMessage(title, text, retry = true) {
  $("message-title").textContent = title;
  $("message-text").textContent = text;
  $("message-retry").hidden = !retry;
  $("message").hidden = false;
}

export function setToggle(id, on) {
  $(id).setAttribute("aria-pressed", String(on));
}
