"""Recipes and the one job runner every entry point calls.

- :class:`Recipe` (develop parameters + look + frame + output + metadata policy, versioned
  TOML: :func:`load_recipe`, :func:`save_recipe`, sidecars ``IMG.EXT.redframe.toml``);
- :class:`Job` and :func:`execute` / :func:`run_job`: one recipe on one input (or a burst)
  to one output; used by ``redframe develop``, ``night``, ``frame``, ``demo``, the web
  camera's worker and the batch pool (:func:`run_jobs`);
- :func:`night_files`, :func:`frame_file`: one-call shortcuts for library users.
"""

from redframe.jobs.files import frame_file, frame_target, night_files
from redframe.jobs.inputs import collect_inputs, plan_outputs
from redframe.jobs.pool import run_jobs
from redframe.jobs.recipe import (
    FORMAT_SUFFIX,
    RECIPE_VERSION,
    SIDECAR_SUFFIX,
    FrameRecipe,
    MetadataRecipe,
    OutputRecipe,
    Recipe,
    dump_recipe,
    load_recipe,
    loads_recipe,
    merge_recipe,
    recipe_from_dict,
    recipe_to_dict,
    save_recipe,
    sidecar_path,
)
from redframe.jobs.runner import Job, JobResult, execute, run_job

__all__ = [
    "Recipe", "OutputRecipe", "FrameRecipe", "MetadataRecipe", "RECIPE_VERSION",
    "SIDECAR_SUFFIX", "FORMAT_SUFFIX", "load_recipe", "loads_recipe", "dump_recipe",
    "save_recipe", "recipe_to_dict", "recipe_from_dict", "merge_recipe", "sidecar_path",
    "Job", "JobResult", "execute", "run_job", "run_jobs", "collect_inputs", "plan_outputs",
    "night_files", "frame_file", "frame_target",
]
