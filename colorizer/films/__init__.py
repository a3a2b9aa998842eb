"""Stage 6, films: a film file in, the colorized film out, its sound and timing kept.

    clip -> upright RGB frames with their timestamps (PyAV)              video_io
      -> each frame's L -> the photo stage's model batch -> ab
      -> steadied along the optical flow, reset at scene cuts            temporal
      -> hints carried along the same motion, guiding each frame         film_hints
         (the guided stage's solve)
      -> merged with the frame's own L -> H.264 segments, resumable
      -> segments + the input's sound -> one MP4, written atomically     video, video_io

In: a film path, a model, optional hints and reference. Out: an MP4 of the same size, frame
count and frame times. It builds on the photo and guided stages; batches call it for every
film among their inputs.

Example:
    >>> from colorizer.films import colorize_video
    >>> result = colorize_video(model, "home_movie.mp4", "out/home_movie.mp4")
"""
from colorizer.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "colorize_video": "colorizer.films.video",
    "probe_video": "colorizer.films.video_io",
    "VideoReadError": "colorizer.films.video_io",
})
