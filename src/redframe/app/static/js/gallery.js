// The gallery: a grid of thumbnails, a full view with share / download / delete.

import { errorText, getJSON } from "./api.js";

const $ = (id) => document.getElementById(id);

function when(item) {
  const d = item.taken ? new Date(item.taken) : new Date(item.created * 1000);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleString(undefined, { day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit" });
}

function label(name, list) {
  const found = (list || []).find((l) => l.name === name);
  return found ? found.label : name;
}

export class Gallery {
  constructor({ looks, characters, toast, onChange }) {
    this.looks = looks;
    this.characters = characters || (() => []);
    this.toast = toast;
    this.onChange = onChange;
    this.items = [];
    this.local = new Map(); // client id -> {id, state: "uploading", localUrl}
    this.index = -1;
    this.el = $("gallery");
    this.grid = $("gallery-grid");
    this.viewer = $("viewer");
    $("gallery-close").addEventListener("click", () => this.close());
    $("viewer-close").addEventListener("click", () => this.closeViewer());
    $("viewer-prev").addEventListener("click", () => this.step(-1));
    $("viewer-next").addEventListener("click", () => this.step(1));
    $("viewer-delete").addEventListener("click", () => this.confirmDelete());
    $("viewer-share").addEventListener("click", () => this.share());
    $("confirm-cancel").addEventListener("click", () => this._confirm(false));
    $("confirm-ok").addEventListener("click", () => this._confirm(true));
    $("confirm").addEventListener("click", (e) => { if (e.target.id === "confirm") this._confirm(false); });
    this.grid.addEventListener("click", (e) => {
      const tile = e.target.closest(".tile");
      if (tile) this.openViewer(+tile.dataset.index);
    });
    let x0 = null;
    const stage = $("viewer-stage");
    stage.addEventListener("touchstart", (e) => { x0 = e.touches[0].clientX; }, { passive: true });
    stage.addEventListener("touchend", (e) => {
      if (x0 === null) return;
      const dx = e.changedTouches[0].clientX - x0;
      if (Math.abs(dx) > 50) this.step(dx < 0 ? 1 : -1);
      x0 = null;
    });
  }

  get open() { return !this.el.hidden; }
  get viewing() { return !this.viewer.hidden; }

  all() {
    const known = new Set(this.items.map((i) => i.id));
    const pending = [...this.local.values()].filter((l) => !l.serverId || !known.has(l.serverId));
    return [...pending.reverse(), ...this.items];
  }

  async refresh() {
    try {
      const data = await getJSON("/api/captures?limit=300");
      this.items = data.items;
    } catch (err) {
      this.toast(`Gallery: ${err.message}`);
    }
    this.render();
    return this.items;
  }

  render() {
    const items = this.all();
    $("gallery-count").textContent = items.length ? `${items.length} photo${items.length > 1 ? "s" : ""}` : "";
    $("gallery-empty").hidden = items.length > 0;
    const frag = document.createDocumentFragment();
    items.forEach((item, i) => {
      const tile = document.createElement("button");
      tile.type = "button";
      tile.className = "tile";
      tile.dataset.index = String(i);
      tile.dataset.id = item.id || "";
      tile.dataset.state = item.state;
      if (item.frame) tile.dataset.frame = item.frame;
      if (item.hdr) tile.dataset.hdr = "1";
      if (item.character) tile.dataset.character = item.character;
      tile.setAttribute("aria-label", `Photo ${when(item)}`);
      const img = document.createElement("img");
      img.loading = "lazy";
      img.alt = "";
      img.src = item.localUrl || item.urls.thumb;
      tile.append(img);
      if (item.state !== "done") {
        const s = document.createElement("span");
        s.className = `state ${item.state === "error" ? "error" : ""}`;
        s.textContent = { uploading: "Uploading", pending: "Developing", processing: "Developing",
          error: "Kept as shot" }[item.state] || item.state;
        tile.classList.toggle("working", item.state !== "error");
        tile.append(s);
      }
      const kind = item.hdr ? "HDR" : item.kind === "burst" ? "Night" : item.mode === "street" ? "Street" : "";
      if (kind) {
        const k = document.createElement("span");
        k.className = "kind";
        k.textContent = kind;
        tile.append(k);
      }
      frag.append(tile);
    });
    this.grid.replaceChildren(frag);
    if (this.viewing) this.showCurrent();
  }

  async show() {
    this.el.hidden = false;
    this.render();
    await this.refresh();
  }

  close() {
    this.closeViewer();
    this.el.hidden = true;
  }

  openViewer(i) {
    this.index = i;
    this.viewer.hidden = false;
    this.showCurrent();
  }

  closeViewer() { this.viewer.hidden = true; }

  step(d) {
    const items = this.all();
    if (!items.length) return;
    this.index = Math.max(0, Math.min(items.length - 1, this.index + d));
    this.showCurrent();
  }

  current() { return this.all()[this.index]; }

  showCurrent() {
    const item = this.current();
    if (!item) { this.closeViewer(); return; }
    const img = $("viewer-img");
    const src = item.localUrl || (item.urls.image || item.urls.thumb);
    if (img.getAttribute("src") !== src) img.src = src;
    img.dataset.id = item.id || "";
    img.dataset.hdr = item.hdr ? "1" : "";
    $("viewer-date").textContent = when(item);
    const parts = [label(item.look, this.looks())];
    if (item.frame) parts.push(`${item.frame.replace(/-/g, " ")} frame`);
    if (item.character) parts.push(label(item.character, this.characters()));
    if (item.hdr) parts.push(item.kind === "burst" ? `HDR, ${item.frames} frames` : "HDR");
    else if (item.kind === "burst") parts.push(item.merged ? `night, ${item.frames} frames merged` : `night, ${item.frames} frames`);
    if (item.width) parts.push(`${item.width} \u00d7 ${item.height}`);
    $("viewer-meta").textContent = parts.join("  \u00b7  ");
    const state = $("viewer-state");
    const msg = { uploading: "Uploading\u2026", pending: "Developing\u2026", processing: "Developing\u2026",
      error: `Could not develop: ${item.error || "unknown error"}. The original is kept.` }[item.state];
    state.hidden = !msg;
    state.textContent = msg || "";
    const dl = $("viewer-download");
    dl.href = item.urls ? item.urls.download : "#";
    dl.toggleAttribute("hidden", !item.urls);
    $("viewer-delete").hidden = !item.urls;
    $("viewer-share").hidden = !(navigator.canShare && item.urls && item.state === "done");
    const items = this.all();
    $("viewer-prev").hidden = this.index <= 0;
    $("viewer-next").hidden = this.index >= items.length - 1;
  }

  confirmDelete() {
    $("confirm").hidden = false;
    $("confirm-ok").focus();
  }

  async _confirm(yes) {
    $("confirm").hidden = true;
    if (!yes) return;
    const item = this.current();
    if (!item || !item.id) return;
    const r = await fetch(`/api/captures/${item.id}`, { method: "DELETE", credentials: "same-origin" });
    if (!r.ok && r.status !== 404) {
      this.toast(`Not deleted: ${await errorText(r)}`);
      return;
    }
    this.items = this.items.filter((i) => i.id !== item.id);
    this.toast("Deleted");
    const n = this.all().length;
    if (!n) this.closeViewer();
    else this.index = Math.min(this.index, n - 1);
    this.render();
    if (this.onChange) this.onChange();
  }

  async share() {
    const item = this.current();
    if (!item || !item.urls) return;
    try {
      const r = await fetch(item.urls.download, { credentials: "same-origin" });
      const blob = await r.blob();
      const file = new File([blob], `redframe-${item.id.slice(0, 8)}.jpg`, { type: blob.type });
      if (navigator.canShare && navigator.canShare({ files: [file] })) {
        await navigator.share({ files: [file], title: "Photo" });
      } else {
        this.toast("Sharing files is not supported here");
      }
    } catch (err) {
      if (err.name !== "AbortError") this.toast(`Not shared: ${err.message}`);
    }
  }
}
