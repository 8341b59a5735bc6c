// The camera stream: getUserMedia (rear camera first), switching between cameras, the
// track's capabilities and constraints (zoom, exposure, focus, white balance, torch),
// ImageCapture.takePhoto at the sensor's resolution, and grabbing video frames.

/** Width and height from a JPEG's SOF or a PNG's IHDR (the first 64 kB), or null. */
export async function imageSize(blob) {
  const b = new Uint8Array(await blob.slice(0, 65536).arrayBuffer());
  if (b[0] === 0x89 && b[1] === 0x50) {
    const v = new DataView(b.buffer);
    return { width: v.getUint32(16), height: v.getUint32(20) };
  }
  if (b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) { i++; continue; }
    const m = b[i + 1];
    if (m === 0xff) { i++; continue; }
    const len = (b[i + 2] << 8) | b[i + 3];
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { height: (b[i + 5] << 8) | b[i + 6], width: (b[i + 7] << 8) | b[i + 8] };
    }
    i += 2 + len;
  }
  return null;
}

/**
 * A canvas as a JPEG Blob, encoded now. (toBlob/convertToBlob encode in an idle task, which
 * some browsers delay by a second or more; the synchronous encoder is quick for a frame.)
 */
export function jpegBlob(canvas, quality = 0.95) {
  const url = canvas.toDataURL("image/jpeg", quality);
  const bin = atob(url.slice(url.indexOf(",") + 1));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type: "image/jpeg" });
}

export class Camera {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.track = null;
    this.deviceId = null;
    this.facing = "environment";
    this.grabCanvas = document.createElement("canvas");
    this.imageCapture = null;
    this.photoCaps = null;
    this.applied = []; // every applyConstraints call: [{constraints, ok}]
  }

  static supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  async start(deviceId = null) {
    this.stop();
    const size = { width: { ideal: 1920 }, height: { ideal: 1440 } };
    const video = deviceId
      ? { deviceId: { exact: deviceId }, ...size }
      : { facingMode: { ideal: this.facing }, ...size };
    this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    this.track = this.stream.getVideoTracks()[0];
    const settings = this.track.getSettings ? this.track.getSettings() : {};
    this.deviceId = settings.deviceId || deviceId;
    if (settings.facingMode) this.facing = settings.facingMode;
    else if (/front|user|facetime/i.test(this.track.label)) this.facing = "user";
    this.imageCapture = null;
    this.photoCaps = null;
    if (typeof ImageCapture === "function") {
      try {
        this.imageCapture = new ImageCapture(this.track);
        this.photoCaps = await this.imageCapture.getPhotoCapabilities().catch(() => null);
      } catch { this.imageCapture = null; }
    }
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    if (!this.video.videoWidth) {
      await new Promise((resolve) => {
        const done = () => { this.video.removeEventListener("loadedmetadata", done); resolve(); };
        this.video.addEventListener("loadedmetadata", done);
        setTimeout(done, 3000);
      });
    }
    return this.track;
  }

  stop() {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.track = null;
  }

  async cameras() {
    try {
      const all = await navigator.mediaDevices.enumerateDevices();
      return all.filter((d) => d.kind === "videoinput");
    } catch {
      return [];
    }
  }

  /** Switch to the next camera (rear <-> front on phones). */
  async next() {
    const cams = await this.cameras();
    if (cams.length < 2) {
      this.facing = this.facing === "user" ? "environment" : "user";
      return this.start();
    }
    const i = cams.findIndex((c) => c.deviceId === this.deviceId);
    return this.start(cams[(i + 1) % cams.length].deviceId);
  }

  get mirrored() { return this.facing === "user"; }

  /** The current frame in a 2D canvas (never mirrored); ``zoom`` > 1 crops the centre
   *  (digital zoom, as the viewfinder shows it). */
  grab(zoom = 1) {
    const v = this.video;
    const c = this.grabCanvas;
    const z = Math.max(1, zoom);
    const w = Math.round(v.videoWidth / z);
    const h = Math.round(v.videoHeight / z);
    if (c.width !== w || c.height !== h) {
      c.width = w;
      c.height = h;
    }
    const ctx = c.getContext("2d", { alpha: false });
    if (z === 1) ctx.drawImage(v, 0, 0);
    else ctx.drawImage(v, (v.videoWidth - w) / 2, (v.videoHeight - h) / 2, w, h, 0, 0, w, h);
    return c;
  }

  /** The current frame as a JPEG Blob. */
  grabJpeg(quality = 0.95, zoom = 1) {
    return jpegBlob(this.grab(zoom), quality);
  }

  /** Wait for the next decoded video frame (distinct frames for a burst). */
  nextFrame() {
    const v = this.video;
    if (v.requestVideoFrameCallback) {
      return new Promise((resolve) => {
        const t = setTimeout(resolve, 250);
        v.requestVideoFrameCallback(() => { clearTimeout(t); resolve(); });
      });
    }
    return new Promise((resolve) => setTimeout(resolve, 40));
  }

  /** The track's capabilities (only what this device can change), {} when unknown. */
  capabilities() {
    try { return (this.track && this.track.getCapabilities && this.track.getCapabilities()) || {}; }
    catch { return {}; }
  }

  settings() {
    try { return (this.track && this.track.getSettings && this.track.getSettings()) || {}; }
    catch { return {}; }
  }

  /** applyConstraints({advanced: [c]}); resolves true when the device took it. */
  async apply(c) {
    if (!this.track) return false;
    const entry = { constraints: c, ok: false };
    this.applied.push(entry);
    if (this.applied.length > 200) this.applied.shift();
    try {
      await this.track.applyConstraints({ advanced: [c] });
      entry.ok = true;
    } catch (err) {
      entry.error = `${err.name}: ${err.message}`;
    }
    return entry.ok;
  }

  /** Whether ImageCapture.takePhoto can give a still at the sensor's resolution. */
  get canTakePhoto() { return !!(this.imageCapture && this.imageCapture.takePhoto); }

  /**
   * A still through ImageCapture.takePhoto at the largest size the device offers:
   * {blob, width, height, source: "photo"}; null when the browser cannot.
   */
  async takePhoto() {
    if (!this.canTakePhoto) return null;
    const caps = this.photoCaps || {};
    const opts = {};
    if (caps.imageWidth && caps.imageWidth.max) opts.imageWidth = caps.imageWidth.max;
    if (caps.imageHeight && caps.imageHeight.max) opts.imageHeight = caps.imageHeight.max;
    let blob;
    try {
      blob = await this.imageCapture.takePhoto(opts);
    } catch {
      try { blob = await this.imageCapture.takePhoto(); } catch { return null; }
    }
    if (!blob || !blob.size) return null;
    const size = await imageSize(blob).catch(() => null);
    return { blob, width: size ? size.width : undefined, height: size ? size.height : undefined,
      source: "photo" };
  }

  /** What the browser knows about this camera, for the photo's EXIF. */
  info() {
    const s = this.settings();
    const out = {
      device: this.track ? this.track.label || undefined : undefined,
      width: this.video.videoWidth || undefined,
      height: this.video.videoHeight || undefined,
    };
    // Image Capture settings where exposed (Chromium on Android): exposureTime in 100 us
    if (typeof s.exposureTime === "number" && s.exposureTime > 0 && s.exposureMode === "manual") {
      out.exposure_time = s.exposureTime / 10000;
    }
    if (typeof s.iso === "number" && s.iso > 0) out.iso = s.iso;
    if (typeof s.zoom === "number" && s.zoom >= 1) out.zoom = s.zoom;
    if (typeof s.focusDistance === "number" && s.focusMode === "manual") out.focus_distance = s.focusDistance;
    if (typeof s.exposureCompensation === "number") out.exposure_compensation = s.exposureCompensation;
    if (typeof s.colorTemperature === "number" && s.whiteBalanceMode === "manual") {
      out.color_temperature = s.colorTemperature;
    }
    return out;
  }
}
