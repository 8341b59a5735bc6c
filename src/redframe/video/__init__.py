"""Video: the looks and frame strips on clips (phone footage, log and HDR recordings).

``redframe video IN... -o DIR`` (through :func:`redframe.jobs.execute`, job kind
``video``) decodes each clip with PyAV (the ``[video]`` extra), applies the look as the
baked 3D LUT the still pipeline and the .cube export share, from the clip's encoding (its
H.273 colour tags or ``--input``), composites an optional static frame strip, and encodes
H.264, HEVC or ProRes with the input's timestamps, audio and tags. See ``docs/video.md``.

- :mod:`~redframe.video.probe`: opening and checking a clip, its metadata;
- :mod:`~redframe.video.kernel`: the per-frame Y'CbCr -> LUT -> Y'CbCr kernel (compiled);
- :mod:`~redframe.video.overlay`: the strip rendered once and composited;
- :mod:`~redframe.video.transcode`: the whole clip, atomically.
"""

from redframe.video.probe import VIDEO_EXTENSIONS, Clip, clip_metadata, open_clip, require_av
from redframe.video.transcode import (
    CODECS,
    VideoResult,
    VideoSettings,
    input_encoding,
    output_suffix,
    transcode,
    video_lut,
)

__all__ = ["VIDEO_EXTENSIONS", "Clip", "open_clip", "clip_metadata", "require_av", "CODECS",
           "VideoSettings", "VideoResult", "transcode", "video_lut", "input_encoding",
           "output_suffix"]
