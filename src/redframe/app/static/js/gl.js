// The live preview: every camera frame through the look's 3D LUT, on the GPU.
// WebGL2: the LUT is a 3D texture (RGB16F, trilinear). WebGL1: the LUT is tiled into a 2D
// texture (blue slices side by side) and the two nearest slices are mixed in the shader.

const VS2 = `#version 300 es
in vec2 a_pos;
out vec2 v_uv;
void main() {
  v_uv = vec2(a_pos.x * 0.5 + 0.5, 0.5 - a_pos.y * 0.5);
  gl_Position = vec4(a_pos, 0.0, 1.0);
}`;


// Shared by both shaders: digital zoom (a centred crop), the lens character's live
// approximation (after the look, in display space), focus peaking (edges of the camera
// frame's luma) and zebras (diagonal stripes where the looked picture's luma passes a
// threshold). Overlays are off for the histogram and the gallery thumbnail.
const FS_BODY = `
uniform float u_zoom;      // digital zoom factor (>= 1): a centred crop
uniform vec2 u_texel;      // 1 / the camera frame's size
uniform float u_zebra;     // zebra luma threshold (0..1); > 1: off
uniform float u_peak;      // peaking edge threshold; 0: off
uniform vec4 u_vig;        // character: vignette amount, radius, falloff, aspect
uniform vec4 u_tone;       // character: contrast, saturation, glow, softness (< 0: sharper)
uniform vec3 u_edge;       // character: edge blur amount, where it starts, glow threshold
uniform vec3 u_tint;       // character: colour balance (multipliers)
uniform float u_flare;     // character: veiling glare (lifted blacks)
uniform float u_overlays;  // 1: draw peaking and zebras
uniform float u_taps;      // 1: sample the neighbours (peaking, a character's blur/glow)
float luma(vec3 c) { return dot(c, vec3(0.2126, 0.7152, 0.0722)); }
vec3 character(vec3 c, vec2 uv, vec3 blurred) {
  vec2 d = (uv - 0.5) * vec2(u_vig.w, 1.0) * 2.0;
  float r = length(d) / length(vec2(u_vig.w, 1.0));
  float soft = u_tone.w + u_edge.x * smoothstep(u_edge.y, 1.0, r);
  c = mix(c, blurred, soft);
  float hi = max(luma(blurred) - u_edge.z, 0.0) / max(1.0 - u_edge.z, 0.05);
  c += u_tone.z * hi * hi * blurred;
  float y = luma(c);
  c = mix(vec3(y), c, u_tone.y);
  c = (c - 0.5) * u_tone.x + 0.5;
  c *= u_tint;
  c = c * (1.0 - u_flare) + u_flare;
  float v = smoothstep(u_vig.y, u_vig.y + u_vig.z, r);
  c *= 1.0 - u_vig.x * v;
  return clamp(c, 0.0, 1.0);
}
vec3 overlays(vec3 c, vec3 src, vec3 n, vec3 s, vec3 e, vec3 w) {
  if (u_overlays < 0.5) return c;
  if (u_peak > 0.0) {
    float gx = luma(e) - luma(w);
    float gy = luma(s) - luma(n);
    float g = sqrt(gx * gx + gy * gy);
    if (g > u_peak) c = mix(c, vec3(1.0, 0.12, 0.1), clamp((g - u_peak) / u_peak + 0.6, 0.0, 1.0));
  }
  if (u_zebra <= 1.0 && luma(c) >= u_zebra) {
    float stripe = mod(gl_FragCoord.x + gl_FragCoord.y, 12.0);
    if (stripe < 6.0) c = mix(c, vec3(0.0), 0.85);
  }
  return c;
}`;
const FS2 = `#version 300 es
precision highp float;
precision highp sampler3D;
uniform sampler2D u_img;
uniform sampler3D u_lut;
uniform float u_size;
in vec2 v_uv;
out vec4 o;
#define TEX texture
${FS_BODY}
vec3 looked(vec3 c) {
  c = clamp(c, 0.0, 1.0);
  return texture(u_lut, c * ((u_size - 1.0) / u_size) + 0.5 / u_size).rgb;
}
void main() {
  vec2 uv = 0.5 + (v_uv - 0.5) / u_zoom;
  vec3 src = texture(u_img, uv).rgb;
  vec3 c = looked(src);
  if (u_taps > 0.5) {  // the neighbours: only for peaking and a character's blur or glow
    vec2 t = u_texel * 1.5 / u_zoom;
    vec3 n = texture(u_img, uv - vec2(0.0, t.y)).rgb, s = texture(u_img, uv + vec2(0.0, t.y)).rgb;
    vec3 e = texture(u_img, uv + vec2(t.x, 0.0)).rgb, w = texture(u_img, uv - vec2(t.x, 0.0)).rgb;
    vec3 blurred = looked((src * 4.0 + n + s + e + w) / 8.0);
    o = vec4(overlays(character(c, v_uv, blurred), src, n, s, e, w), 1.0);
  } else {
    o = vec4(overlays(character(c, v_uv, c), src, src, src, src, src), 1.0);
  }
}`;

const VS1 = `attribute vec2 a_pos;
varying vec2 v_uv;
void main() {
  v_uv = vec2(a_pos.x * 0.5 + 0.5, 0.5 - a_pos.y * 0.5);
  gl_Position = vec4(a_pos, 0.0, 1.0);
}`;

const FS1 = `precision highp float;
uniform sampler2D u_img;
uniform sampler2D u_lut;
uniform float u_size;
varying vec2 v_uv;
${FS_BODY}
vec3 looked(vec3 c) {
  c = clamp(c, 0.0, 1.0);
  float n = u_size;
  float b = c.b * (n - 1.0);
  float b0 = floor(b);
  float b1 = min(b0 + 1.0, n - 1.0);
  float x = c.r * (n - 1.0) + 0.5;
  float y = (c.g * (n - 1.0) + 0.5) / n;
  vec3 s0 = texture2D(u_lut, vec2((b0 * n + x) / (n * n), y)).rgb;
  vec3 s1 = texture2D(u_lut, vec2((b1 * n + x) / (n * n), y)).rgb;
  return mix(s0, s1, b - b0);
}
void main() {
  vec2 uv = 0.5 + (v_uv - 0.5) / u_zoom;
  vec3 src = texture2D(u_img, uv).rgb;
  vec3 c = looked(src);
  if (u_taps > 0.5) {  // the neighbours: only for peaking and a character's blur or glow
    vec2 t = u_texel * 1.5 / u_zoom;
    vec3 n = texture2D(u_img, uv - vec2(0.0, t.y)).rgb, s = texture2D(u_img, uv + vec2(0.0, t.y)).rgb;
    vec3 e = texture2D(u_img, uv + vec2(t.x, 0.0)).rgb, w = texture2D(u_img, uv - vec2(t.x, 0.0)).rgb;
    vec3 blurred = looked((src * 4.0 + n + s + e + w) / 8.0);
    gl_FragColor = vec4(overlays(character(c, v_uv, blurred), src, n, s, e, w), 1.0);
  } else {
    gl_FragColor = vec4(overlays(character(c, v_uv, c), src, src, src, src, src), 1.0);
  }
}`;

const HIST_W = 96;
const HIST_H = 72;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) {
    throw new Error(gl.getShaderInfoLog(s) || "shader failed");
  }
  return s;
}

export class LutRenderer {
  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.canvas = canvas;
    const opts = { alpha: false, antialias: false, depth: false, premultipliedAlpha: false,
      preserveDrawingBuffer: false, powerPreference: "low-power" };
    let gl = canvas.getContext("webgl2", opts);
    this.kind = "webgl2";
    if (!gl) {
      gl = canvas.getContext("webgl", opts) || canvas.getContext("experimental-webgl", opts);
      this.kind = gl ? "webgl1" : "none";
    }
    this.gl = gl;
    if (!gl) return;
    const v2 = this.kind === "webgl2";
    const prog = gl.createProgram();
    gl.attachShader(prog, compile(gl, gl.VERTEX_SHADER, v2 ? VS2 : VS1));
    gl.attachShader(prog, compile(gl, gl.FRAGMENT_SHADER, v2 ? FS2 : FS1));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
    gl.useProgram(prog);
    this.prog = prog;
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, "a_pos");
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    this.u = {
      img: gl.getUniformLocation(prog, "u_img"),
      lut: gl.getUniformLocation(prog, "u_lut"),
      size: gl.getUniformLocation(prog, "u_size"),
    };
    for (const k of ["zoom", "texel", "zebra", "peak", "vig", "tone", "edge", "tint", "flare", "overlays", "taps"]) {
      this.u[k] = gl.getUniformLocation(prog, `u_${k}`);
    }
    this.zoom = 1;
    this.zebra = 0; // threshold 0..1; 0: off
    this.peaking = 0; // edge threshold; 0: off
    this.setCharacter(null);
    gl.uniform1i(this.u.img, 0);
    gl.uniform1i(this.u.lut, 1);
    this.imgTex = this._texture2d();
    this.lutTex = null;
    this.lutSize = 0;
    // a small framebuffer for the histogram read-back
    this.histTex = this._texture2d();
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, HIST_W, HIST_H, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
    this.fbo = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, this.histTex, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.pixels = new Uint8Array(HIST_W * HIST_H * 4);
    this.hasFrame = false;
  }

  get ok() { return !!this.gl; }

  /**
   * The lens character's live approximation from list_characters()' preview parameters
   * (null: none): vignette (EV at the corner, from vignette_radius), mono, micro_contrast
   * (an unsharp mask), falloff and swirl (a blur growing toward the edges), glow (over
   * glow_threshold) and haze (a veil). Grain is left to the developed picture.
   */
  setCharacter(p) {
    p = p || {};
    const num = (v, d) => (typeof v === "number" && Number.isFinite(v) ? v : d);
    const ev = Math.min(0, num(p.vignette, 0));
    const edge = Math.min(0.9, num(p.falloff, 0) * 40 + num(p.swirl, 0) * 4);
    this.character = {
      vig: [1 - 2 ** ev, Math.min(0.95, num(p.vignette_radius, 0.3)), 1 - Math.min(0.95, num(p.vignette_radius, 0.3))],
      tone: [1, p.mono ? 0 : 1, num(p.glow, 0), -Math.min(1, num(p.micro_contrast, 0))],
      edge: [edge, num(p.falloff_radius, num(p.swirl_start, 0.3))],
      glowAt: num(p.glow_threshold, 0.7),
      tint: [1, 1, 1],
      flare: Math.min(0.3, num(p.haze, 0) * 0.5),
    };
  }

  _uniforms(w, h, overlays) {
    const gl = this.gl;
    const c = this.character;
    gl.uniform1f(this.u.zoom, Math.max(1, this.zoom));
    gl.uniform2f(this.u.texel, 1 / w, 1 / h);
    gl.uniform1f(this.u.zebra, this.zebra > 0 ? this.zebra : 2.0);
    gl.uniform1f(this.u.peak, this.peaking);
    gl.uniform4f(this.u.vig, c.vig[0], c.vig[1], c.vig[2], w / h);
    gl.uniform4f(this.u.tone, c.tone[0], c.tone[1], c.tone[2], c.tone[3]);
    gl.uniform3f(this.u.edge, c.edge[0], c.edge[1], c.glowAt);
    gl.uniform3f(this.u.tint, c.tint[0], c.tint[1], c.tint[2]);
    gl.uniform1f(this.u.flare, c.flare);
    gl.uniform1f(this.u.overlays, overlays ? 1 : 0);
    const taps = (overlays && this.peaking > 0) || c.tone[2] !== 0 || c.tone[3] !== 0 || c.edge[0] !== 0;
    gl.uniform1f(this.u.taps, taps ? 1 : 0);
  }

  _texture2d() {
    const gl = this.gl;
    const t = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, t);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    return t;
  }

  /** Upload a LUT ({size, data} in .cube order, values 0..1). */
  setLut(lut) {
    const gl = this.gl;
    if (!gl) return;
    const n = lut.size;
    gl.activeTexture(gl.TEXTURE1);
    if (this.lutTex) gl.deleteTexture(this.lutTex);
    if (this.kind === "webgl2") {
      const t = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_3D, t);
      for (const p of [gl.TEXTURE_WRAP_S, gl.TEXTURE_WRAP_T, gl.TEXTURE_WRAP_R]) {
        gl.texParameteri(gl.TEXTURE_3D, p, gl.CLAMP_TO_EDGE);
      }
      gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_3D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
      gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
      gl.texImage3D(gl.TEXTURE_3D, 0, gl.RGB16F, n, n, n, 0, gl.RGB, gl.FLOAT, lut.data);
      this.lutTex = t;
    } else {
      const t = this._texture2d();
      const w = n * n;
      const px = new Uint8Array(w * n * 4);
      const d = lut.data;
      for (let b = 0; b < n; b++)
        for (let g = 0; g < n; g++)
          for (let r = 0; r < n; r++) {
            const src = ((b * n + g) * n + r) * 3;
            const dst = (g * w + b * n + r) * 4;
            px[dst] = Math.round(Math.min(1, Math.max(0, d[src])) * 255);
            px[dst + 1] = Math.round(Math.min(1, Math.max(0, d[src + 1])) * 255);
            px[dst + 2] = Math.round(Math.min(1, Math.max(0, d[src + 2])) * 255);
            px[dst + 3] = 255;
          }
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, w, n, 0, gl.RGBA, gl.UNSIGNED_BYTE, px);
      this.lutTex = t;
    }
    this.lutSize = n;
    gl.activeTexture(gl.TEXTURE0);
  }

  _bindLut() {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(this.kind === "webgl2" ? gl.TEXTURE_3D : gl.TEXTURE_2D, this.lutTex);
    gl.uniform1f(this.u.size, this.lutSize);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.imgTex);
  }

  /** Draw the current video frame through the LUT; returns false when there is none.
   *  overlays=false leaves peaking and zebras out (the thumbnail snapshot). */
  draw(video, overlays = true) {
    const gl = this.gl;
    if (!gl || !this.lutTex || video.readyState < 2 || !video.videoWidth) return false;
    const w = video.videoWidth;
    const h = video.videoHeight;
    const scale = Math.min(1, 1920 / Math.max(w, h));
    const cw = Math.round(w * scale);
    const ch = Math.round(h * scale);
    if (this.canvas.width !== cw || this.canvas.height !== ch) {
      this.canvas.width = cw;
      this.canvas.height = ch;
    }
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.imgTex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, video);
    this._bindLut();
    this._uniforms(w, h, overlays);
    this.frameSize = [w, h];
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, cw, ch);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    this.hasFrame = true;
    return true;
  }

  /** The last frame, through the LUT, as small RGBA pixels (for the histogram). */
  sample() {
    const gl = this.gl;
    if (!gl || !this.hasFrame) return null;
    this._bindLut();
    this._uniforms(this.frameSize[0], this.frameSize[1], false);
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.viewport(0, 0, HIST_W, HIST_H);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    gl.readPixels(0, 0, HIST_W, HIST_H, gl.RGBA, gl.UNSIGNED_BYTE, this.pixels);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    this._uniforms(this.frameSize[0], this.frameSize[1], true);
    return this.pixels;
  }
}

/** Luma (Rec. 709 weights on the encoded values) and R, G, B histograms of RGBA pixels,
 *  and the mean RGB. */
export function histogram(pixels, bins = 64) {
  const h = new Float32Array(bins);
  const rgb = [new Float32Array(bins), new Float32Array(bins), new Float32Array(bins)];
  let r = 0, g = 0, b = 0;
  const n = pixels.length / 4;
  const k = bins / 256;
  for (let i = 0; i < pixels.length; i += 4) {
    const pr = pixels[i], pg = pixels[i + 1], pb = pixels[i + 2];
    r += pr; g += pg; b += pb;
    rgb[0][(pr * k) | 0]++; rgb[1][(pg * k) | 0]++; rgb[2][(pb * k) | 0]++;
    const y = 0.2126 * pr + 0.7152 * pg + 0.0722 * pb;
    h[Math.min(bins - 1, (y * k) | 0)]++;
  }
  return { bins: h, rgb, mean: [r / n, g / n, b / n] };
}

/** Draw a histogram into a 2D canvas: R, G, B curves (added light) under the luma curve,
 *  the ends marked. */
export function drawHistogram(canvas, bins, rgb = null) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const pad = 6;
  const curve = (data, fill) => {
    let peak = 1;
    for (let i = 1; i < data.length - 1; i++) peak = Math.max(peak, data[i]);
    ctx.beginPath();
    ctx.moveTo(pad, h - pad);
    for (let i = 0; i < data.length; i++) {
      const x = pad + (i / (data.length - 1)) * (w - 2 * pad);
      const y = h - pad - Math.min(1, Math.sqrt(data[i] / peak)) * (h - 2 * pad);
      ctx.lineTo(x, y);
    }
    ctx.lineTo(w - pad, h - pad);
    ctx.closePath();
    ctx.fillStyle = fill;
    ctx.fill();
  };
  if (rgb) {
    ctx.globalCompositeOperation = "lighter";
    curve(rgb[0], "rgba(255,70,60,0.45)");
    curve(rgb[1], "rgba(70,230,90,0.45)");
    curve(rgb[2], "rgba(70,120,255,0.5)");
    ctx.globalCompositeOperation = "source-over";
  }
  curve(bins, rgb ? "rgba(255,255,255,0.42)" : "rgba(255,255,255,0.62)");
  ctx.fillStyle = "rgba(255,255,255,0.18)";
  ctx.fillRect(pad, h - pad, w - 2 * pad, 1);
}
