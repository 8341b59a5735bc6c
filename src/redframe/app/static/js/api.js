// The server API: JSON calls and resilient uploads (retried with the same client id, which
// the server uses to store a capture exactly once).

export async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(await errorText(r));
  return r.json();
}

export async function errorText(r) {
  try {
    const body = await r.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch { /* not JSON */ }
  return `${r.status} ${r.statusText}`;
}

export function clientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const a = new Uint8Array(16);
  crypto.getRandomValues(a);
  return Array.from(a, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Local time as ISO 8601 with the UTC offset, e.g. 2025-06-21T19:42:05+02:00. */
export function localIso(d = new Date()) {
  const p = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:` +
    `${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(off / 60)}:${p(off % 60)}`;
}

/**
 * Upload a capture: {blobs: [Blob] (one photo, or the frames of a burst), look, frame,
 * mode, meta, hdr (an Ultra HDR result), character (a lens character)}. Retries network failures and 5xx with back-off; a 4xx is final.
 */
export async function uploadCapture({ blobs, look, frame, mode, meta, id, hdr, character }, onRetry) {
  const form = new FormData();
  const ext = (b) => ({ "image/png": "png", "image/webp": "webp" }[b.type] || "jpg");
  if (blobs.length === 1) form.append("file", blobs[0], `capture.${ext(blobs[0])}`);
  else blobs.forEach((b, i) => form.append("frames", b, `frame-${i}.${ext(b)}`));
  form.append("look", look);
  form.append("frame", frame || "none");
  form.append("mode", mode);
  form.append("client_id", id);
  if (hdr) form.append("hdr", "1");
  if (character) form.append("character", character);
  form.append("meta", JSON.stringify(meta));
  let delay = 800;
  for (let attempt = 1; ; attempt++) {
    let r;
    try {
      r = await fetch("/api/captures", { method: "POST", body: form, credentials: "same-origin" });
    } catch (err) {
      r = null;
    }
    if (r && r.ok) return r.json();
    if (r && r.status < 500 && r.status !== 408 && r.status !== 429) {
      throw new Error(await errorText(r));
    }
    if (onRetry) onRetry(attempt);
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

/** Poll a capture until it is developed (or failed); resolves with its record. */
export async function waitDeveloped(id, { interval = 300, timeout = 180000 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      const item = await getJSON(`/api/captures/${id}`);
      if (item.state === "done" || item.state === "error") return item;
    } catch (err) {
      if (String(err.message).includes("no such capture")) throw err;
    }
    if (Date.now() > end) throw new Error("still developing");
    await new Promise((res) => setTimeout(res, interval));
    interval = Math.min(interval * 1.25, 1000);
  }
}
