// Capture: a photo through ImageCapture.takePhoto at the sensor's resolution (the video
// frame where the browser cannot, with a note), a night burst, an HDR burst; the upload
// with the look, frame, lens character and HDR option; the self-timer.

import { clientId, localIso, uploadCapture, waitDeveloped } from "./api.js";
import { jpegBlob } from "./camera.js";
import { $, flash, hook, toast } from "./ui.js";

export class Capture {
  constructor({ store, camera, viewfinder, controls, gallery, sound, currentLook }) {
    Object.assign(this, { store, camera, viewfinder, controls, gallery, sound, currentLook });
    this.uploading = 0;
    this.noteShown = false;
  }

  meta(extra = {}) {
    const s = this.store.state;
    const meta = { taken: localIso(), ...this.camera.info(), ...extra };
    if (s.model) meta.model = s.model;
    if (this.activeCharacter()) {
      // the lens character crops on the server from what the upload covers
      meta.native_focal_mm = Math.round(this.controls.baseFocal * (hook.zoom || 1) * 10) / 10;
    } else if (s.focal) meta.focal_length_35mm = Math.round(s.focal);
    if (s.location && s.position && Date.now() - s.position.t < 120000) {
      const { lat, lon, alt } = s.position;
      meta.location = { lat, lon, alt };
    }
    return meta;
  }

  setLastThumb(url, pop = false) {
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

  updateBadge() {
    const b = $("upload-badge");
    b.hidden = this.uploading === 0;
    b.textContent = String(this.uploading);
  }

  async submit({ blobs, localUrl, kind, meta, hdr = false }) {
    const s = this.store.state;
    const gallery = this.gallery;
    const id = clientId();
    const look = this.currentLook();
    const character = this.activeCharacter();
    const entry = { id: null, clientId: id, state: "uploading", localUrl, kind, urls: null, look,
      frame: s.frame === "none" ? null : s.frame, created: Date.now() / 1000, hdr, character,
      taken: localIso(), frames: blobs.length, mode: s.mode };
    gallery.local.set(id, entry);
    if (gallery.open) gallery.render();
    this.setLastThumb(localUrl, true);
    hook.captures += 1;
    this.uploading += 1;
    this.updateBadge();
    let item;
    try {
      item = await uploadCapture({ blobs, look, frame: s.frame, mode: s.mode, meta, id, hdr,
        character }, () => toast("Upload failed \u2014 retrying"));
    } catch (err) {
      toast(`Not saved: ${err.message}`, 3500);
      hook.errors.push(`upload: ${err.message}`);
      gallery.local.delete(id);
      if (gallery.open) gallery.render();
      return;
    } finally {
      this.uploading -= 1;
      this.updateBadge();
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
    if (gallery.items[0] && gallery.items[0].id === done.id) this.setLastThumb(done.urls.thumb);
    if (done.state === "error") toast("Could not develop \u2014 kept as shot", 2500);
  }

  busy(on) {
    this.store.set({ busy: on });
    $("shutter").classList.toggle("busy", on);
  }

  playShutter() {
    const s = this.store.state;
    if (s.mode === "street" && s.silent) return;
    this.sound.play("shutter");
  }

  /** One photo: takePhoto at the sensor's resolution, else the video frame (noted once). */
  async photo() {
    this.busy(true);
    try {
      this.playShutter();
      flash();
      const localUrl = this.viewfinder.snapshot(this.camera.grabCanvas);
      const zoom = this.uploadZoom();
      let shot = null;
      if (this.store.state.fullRes !== false) shot = await this.camera.takePhoto();
      let blob;
      let extra;
      if (shot) {
        blob = shot.blob;
        extra = { source: "photo", width: shot.width, height: shot.height };
        if (zoom > 1.001 && shot.width) blob = await cropBlob(blob, zoom, extra);
      } else {
        blob = this.camera.grabJpeg(0.95, zoom);
        extra = { source: "video", width: this.camera.grabCanvas.width,
          height: this.camera.grabCanvas.height };
        if (!this.noteShown) {
          this.noteShown = true;
          $("capture-note").hidden = false;
          setTimeout(() => { $("capture-note").hidden = true; }, 5000);
        }
      }
      hook.source = extra.source;
      hook.photoSize = [extra.width, extra.height];
      this.submit({ blobs: [blob], localUrl, kind: "photo", meta: this.meta(extra),
        hdr: !!this.store.state.hdr && this.store.state.mode !== "night" });
    } finally {
      setTimeout(() => this.busy(false), 180);
    }
  }

  /** The crop applied before upload: the digital zoom, except with a lens character,
   *  whose crop the server makes (from native_focal_mm) with its rendering. */
  uploadZoom() {
    return this.activeCharacter() ? 1 : this.store.state.digitalZoom || 1;
  }

  /** The lens character of the next capture (street mode keeps its own fixed framing). */
  activeCharacter() {
    const s = this.store.state;
    return s.mode === "street" ? null : s.character || null;
  }

  setRing(fraction) {
    const c = 2 * Math.PI * 46;
    $("ring-progress").style.strokeDashoffset = String(c * (1 - fraction));
  }

  /** A burst of video frames (night: n frames merged; HDR: a short burst, shot 1 EV under
   *  where the device has exposure compensation, merged, then an Ultra HDR rendition). */
  async burst({ n, hdr }) {
    this.busy(true);
    const hud = $("night-hud");
    hud.hidden = false;
    $("night-title").textContent = hdr ? "HDR \u00b7 hold still" : "Hold still";
    $("night-count").textContent = `0 / ${n}`;
    $("night-bar").style.width = "0%";
    if (!hdr) this.sound.play("night");
    const blobs = [];
    const zoom = this.uploadZoom();
    let localUrl = null;
    let evs = null;
    const caps = this.camera.capabilities();
    const before = this.camera.settings().exposureCompensation;
    try {
      if (hdr && caps.exposureCompensation && caps.exposureCompensation.min <= -1) {
        const base = typeof before === "number" ? before : 0;
        const v = Math.max(caps.exposureCompensation.min, base - 1);
        if (await this.camera.apply({ exposureCompensation: v })) {
          evs = Array(n).fill(v - base);
          await new Promise((r) => setTimeout(r, 300)); // the exposure settles
        }
      }
      for (let i = 0; i < n; i++) {
        await this.camera.nextFrame();
        blobs.push(this.camera.grabJpeg(0.92, zoom));
        if (i === 0) localUrl = this.viewfinder.snapshot(this.camera.grabCanvas);
        $("night-count").textContent = `${i + 1} / ${n}`;
        $("night-bar").style.width = `${((i + 1) / n) * 100}%`;
        this.setRing((i + 1) / n);
        hook.nightProgress = i + 1;
      }
      if (hdr) this.playShutter();
      else this.sound.play("long");
      flash();
      const extra = { source: "video", width: this.camera.grabCanvas.width,
        height: this.camera.grabCanvas.height };
      if (evs) extra.ev_bracket = evs;
      this.submit({ blobs, localUrl, kind: "burst", meta: this.meta(extra), hdr });
    } finally {
      if (evs) this.camera.apply({ exposureCompensation: before });
      setTimeout(() => {
        hud.hidden = true;
        this.setRing(0);
        this.busy(false);
      }, 250);
    }
  }

  countdown(seconds) {
    return new Promise((resolve) => {
      let left = seconds;
      const box = $("countdown");
      const num = $("countdown-n");
      box.hidden = false;
      num.textContent = String(left);
      this.setRing(0);
      const started = performance.now();
      const ring = setInterval(() => this.setRing(Math.min(1, (performance.now() - started) / (seconds * 1000))), 50);
      const timer = setInterval(() => {
        left -= 1;
        if (left <= 0) finish(true);
        else num.textContent = String(left);
      }, 1000);
      const finish = (go) => {
        clearInterval(timer);
        clearInterval(ring);
        this.setRing(0);
        box.hidden = true;
        this.store.set({ countdown: null });
        resolve(go);
      };
      this.store.set({ countdown: { cancel: () => finish(false) } });
    });
  }

  /** The shutter: cancels a running timer, else (after the timer) shoots in the mode. */
  async shutter() {
    const s = this.store.state;
    this.sound.unlock();
    if (s.countdown) { s.countdown.cancel(); toast("Timer cancelled", 900); return; }
    if (s.busy) return;
    if (hook.camera !== "on" || !this.camera.video.videoWidth) { toast("No camera"); return; }
    if (s.timer && s.mode !== "street") {
      const go = await this.countdown(s.timer);
      if (!go) return;
    }
    const cfg = s.config;
    if (s.mode === "night") await this.burst({ n: cfg.night.frames, hdr: false });
    else if (s.hdr) await this.burst({ n: cfg.hdr.frames, hdr: true });
    else await this.photo();
  }
}

/** The centre 1/zoom of a picture (digital zoom on a full-resolution still), as JPEG. */
async function cropBlob(blob, zoom, extra) {
  const bmp = await createImageBitmap(blob);
  const w = Math.round(bmp.width / zoom);
  const h = Math.round(bmp.height / zoom);
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  c.getContext("2d", { alpha: false }).drawImage(bmp, (bmp.width - w) / 2, (bmp.height - h) / 2, w, h, 0, 0, w, h);
  bmp.close();
  extra.width = w;
  extra.height = h;
  return jpegBlob(c, 0.95);
}
