"""What the routers share: the store, the worker pool, the limits, and the few rules every
route applies (a capture's JSON, choosing a look/frame/character, 404s)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redframe.app import integrations
from redframe.app.store import Store, valid_id
from redframe.app.worker import Workers

__all__ = ["AppContext", "MODES", "NIGHT_FRAMES", "HDR_FRAMES"]

MODES = ("photo", "night", "mono", "street")
#: frames the front end captures for a night shot
NIGHT_FRAMES = 8
#: frames the front end captures for an HDR photo (merged, then an Ultra HDR rendition)
HDR_FRAMES = 4


def _http(status: int, message: str):
    from fastapi import HTTPException

    return HTTPException(status, message)


@dataclass
class AppContext:
    store: Store
    pool: Workers
    limits: Any
    token: str | None
    layouts: list[str]
    static: dict = field(default_factory=dict)

    def look_names(self) -> list[str]:
        return [info.name for info in integrations.available_looks()]

    def default_look(self, mode: str) -> str:
        infos = integrations.available_looks()
        if mode != "mono" and any(i.name == "authentic" for i in infos):
            return "authentic"  # the signature rendering, when the looks module has it
        for info in infos:
            if info.mono == (mode == "mono"):
                return info.name
        return infos[0].name

    def item(self, cap) -> dict[str, Any]:
        base = f"/api/captures/{cap.id}"
        v = int(cap.updated * 1000)
        done = cap.state == "done"
        return {
            "id": cap.id, "created": cap.created, "updated": cap.updated,
            "taken": cap.capture.get("taken"), "kind": cap.kind, "mode": cap.mode,
            "look": cap.look, "frame": cap.frame, "state": cap.state, "error": cap.error,
            "frames": cap.frames, "merged": cap.merged, "format": cap.format,
            "width": cap.render_width if done else cap.width,
            "height": cap.render_height if done else cap.height,
            "original_width": cap.width, "original_height": cap.height,
            "device": cap.capture.get("device"), "located": "location" in cap.capture,
            "source": cap.capture.get("source"),
            "hdr": bool(cap.options.get("hdr")), "character": cap.options.get("character"),
            "notes": cap.notes,
            "urls": {"thumb": f"{base}/thumb?v={v}",
                     "image": f"{base}/image?v={v}" if done else None,
                     "original": f"{base}/original", "download": f"{base}/download"},
        }

    def get_or_404(self, cid: str):
        cap = self.store.get(cid) if valid_id(cid) else None
        if cap is None:
            raise _http(404, "no such capture")
        return cap

    def check_choice(self, look: str | None, frame: str | None, mode: str
                     ) -> tuple[str, str | None]:
        if mode not in MODES:
            raise _http(422, f"mode must be one of {', '.join(MODES)}")
        names = self.look_names()
        look = look or self.default_look(mode)
        if look not in names:
            raise _http(422, f"unknown look; known: {', '.join(names)}")
        if frame in (None, "", "none"):
            frame = None
        elif frame not in self.layouts:
            raise _http(422, f"unknown frame; known: none, {', '.join(self.layouts)}")
        return look, frame

    def check_character(self, name: str | None) -> str | None:
        if name in (None, "", "none"):
            return None
        names = integrations.character_names()
        if name not in names:
            known = ", ".join(["none", *names])
            raise _http(422, f"unknown lens character; known: {known}")
        return name
