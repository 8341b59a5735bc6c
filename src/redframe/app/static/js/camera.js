// The camera stream: getUserMedia (rear camera first), switching between cameras, and
// grabbing full-resolution frames.

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

  /** The current frame at full resolution in a 2D canvas (never mirrored). */
  grab() {
    const v = this.video;
    const c = this.grabCanvas;
    if (c.width !== v.videoWidth || c.height !== v.videoHeight) {
      c.width = v.videoWidth;
      c.height = v.videoHeight;
    }
    c.getContext("2d", { alpha: false }).drawImage(v, 0, 0);
    return c;
  }

  /** The current frame as a JPEG Blob. */
  grabJpeg(quality = 0.95) {
    return jpegBlob(this.grab(), quality);
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

  /** What the browser knows about this camera, for the photo's EXIF. */
  info() {
    const s = this.track && this.track.getSettings ? this.track.getSettings() : {};
    const out = {
      device: this.track ? this.track.label || undefined : undefined,
      width: this.video.videoWidth || undefined,
      height: this.video.videoHeight || undefined,
    };
    // Image Capture settings where exposed (Chromium on Android): exposureTime in 100 us
    if (typeof s.exposureTime === "number" && s.exposureTime > 0) out.exposure_time = s.exposureTime / 10000;
    if (typeof s.iso === "number" && s.iso > 0) out.iso = s.iso;
    return out;
  }
}
