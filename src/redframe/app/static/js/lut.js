// .cube 3D LUT files (Adobe/Resolve format): red varies fastest, then green, then blue.

/** Parse a .cube text into {size, data: Float32Array (size^3 * 3, cube order), title}. */
export function parseCube(text) {
  let size = 0;
  let title = "";
  let min = [0, 0, 0];
  let max = [1, 1, 1];
  const lines = text.split(/\r?\n/);
  let data = null;
  let n = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line[0] === "#") continue;
    const c = line.charCodeAt(0);
    if ((c >= 48 && c <= 57) || c === 45 || c === 46) {
      if (!data) throw new Error("LUT data before LUT_3D_SIZE");
      const parts = line.split(/\s+/);
      data[n++] = +parts[0];
      data[n++] = +parts[1];
      data[n++] = +parts[2];
      continue;
    }
    const [key, ...rest] = line.split(/\s+/);
    if (key === "LUT_3D_SIZE") {
      size = parseInt(rest[0], 10);
      if (!(size >= 2 && size <= 129)) throw new Error(`bad LUT_3D_SIZE ${rest[0]}`);
      data = new Float32Array(size * size * size * 3);
    } else if (key === "TITLE") {
      title = rest.join(" ").replace(/^"|"$/g, "");
    } else if (key === "DOMAIN_MIN") {
      min = rest.map(Number);
    } else if (key === "DOMAIN_MAX") {
      max = rest.map(Number);
    } else if (key === "LUT_1D_SIZE") {
      throw new Error("1D LUTs are not supported");
    }
  }
  if (!data || n !== data.length) throw new Error(`LUT has ${n / 3} entries, expected ${size ** 3}`);
  if (min.some((v) => v !== 0) || max.some((v) => v !== 1)) {
    throw new Error("only DOMAIN 0..1 LUTs are supported");
  }
  return { size, data, title };
}

/** The identity LUT of a size (before the real one has loaded). */
export function identityLut(size = 2) {
  const data = new Float32Array(size * size * size * 3);
  let i = 0;
  for (let b = 0; b < size; b++)
    for (let g = 0; g < size; g++)
      for (let r = 0; r < size; r++) {
        data[i++] = r / (size - 1);
        data[i++] = g / (size - 1);
        data[i++] = b / (size - 1);
      }
  return { size, data, title: "identity" };
}
