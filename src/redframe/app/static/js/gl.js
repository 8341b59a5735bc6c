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

const FS2 = `#version 300 es
precision highp float;
precision highp sampler3D;
uniform sampler2D u_img;
uniform sampler3D u_lut;
uniform float u_size;
in vec2 v_uv;
out vec4 o;
void main() {
  vec3 c = clamp(texture(u_img, v_uv).rgb, 0.0, 1.0);
  vec3 uvw = c * ((u_size - 1.0) / u_size) + 0.5 / u_size;
  o = vec4(texture(u_lut, uvw).rgb, 1.0);
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
void main() {
  vec3 c = clamp(texture2D(u_img, v_uv).rgb, 0.0, 1.0);
  float n = u_size;
  float b = c.b * (n - 1.0);
  float b0 = floor(b);
  float b1 = min(b0 + 1.0, n - 1.0);
  float x = c.r * (n - 1.0) + 0.5;
  float y = (c.g * (n - 1.0) + 0.5) / n;
  vec3 s0 = texture2D(u_lut, vec2((b0 * n + x) / (n * n), y)).rgb;
  vec3 s1 = texture2D(u_lut, vec2((b1 * n + x) / (n * n), y)).rgb;
  gl_FragColor = vec4(mix(s0, s1, b - b0), 1.0);
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

  /** Draw the current video frame through the LUT; returns false when there is none. */
  draw(video) {
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
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.fbo);
    gl.viewport(0, 0, HIST_W, HIST_H);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    gl.readPixels(0, 0, HIST_W, HIST_H, gl.RGBA, gl.UNSIGNED_BYTE, this.pixels);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    return this.pixels;
  }
}

/** Luma (Rec. 709 weights on the encoded values) histogram of RGBA pixels, and mean RGB. */
export function histogram(pixels, bins = 64) {
  const h = new Float32Array(bins);
  let r = 0, g = 0, b = 0;
  const n = pixels.length / 4;
  for (let i = 0; i < pixels.length; i += 4) {
    r += pixels[i]; g += pixels[i + 1]; b += pixels[i + 2];
    const y = 0.2126 * pixels[i] + 0.7152 * pixels[i + 1] + 0.0722 * pixels[i + 2];
    h[Math.min(bins - 1, (y * bins / 256) | 0)]++;
  }
  return { bins: h, mean: [r / n, g / n, b / n] };
}

/** Draw a histogram into a 2D canvas: a soft filled curve, clipped ends marked. */
export function drawHistogram(canvas, bins) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  let peak = 1;
  for (let i = 1; i < bins.length - 1; i++) peak = Math.max(peak, bins[i]);
  const pad = 6;
  ctx.beginPath();
  ctx.moveTo(pad, h - pad);
  for (let i = 0; i < bins.length; i++) {
    const x = pad + (i / (bins.length - 1)) * (w - 2 * pad);
    const y = h - pad - Math.min(1, Math.sqrt(bins[i] / peak)) * (h - 2 * pad);
    ctx.lineTo(x, y);
  }
  ctx.lineTo(w - pad, h - pad);
  ctx.closePath();
  ctx.fillStyle = "rgba(255,255,255,0.62)";
  ctx.fill();
  ctx.fillStyle = "rgba(255,255,255,0.18)";
  ctx.fillRect(pad, h - pad, w - 2 * pad, 1);
}
