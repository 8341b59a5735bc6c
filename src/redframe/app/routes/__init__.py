"""The camera's HTTP routes by concern: the front end's files, configuration and media
(looks, frames, sounds, lens characters), and the captures (upload, gallery, files)."""
