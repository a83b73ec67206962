"""The settings documents admins edit (routing, SLA policies, and the console's catalog and taxonomy) read in
one way: YAML into a mapping, then a pydantic model and the document's own cross-reference checks, every
problem naming the field at fault. A loader at start-up reports the first problem as one line; the console
and the API list them all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import PlaintError

# libyaml's parser (PyYAML's wheels carry it), several times faster than the pure-Python one.
SAFE_YAML_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader

Location = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class DocumentProblem:
    """One thing wrong with a document: where (a path of keys and list indexes; empty for the whole
    document) and what, in words an admin understands."""

    location: Location
    message: str

    @property
    def path(self) -> str | None:
        return ".".join(str(part) for part in self.location) or None

    def describe(self) -> str:
        """One line: the path, then the message (unless the message already starts with the path)."""
        path = self.path
        if path is None or self.message.startswith(path):
            return self.message
        return f"{path}: {self.message}"


class DocumentProblems(PlaintError):
    """A document that cannot be used; `problems` lists every one found (never empty)."""

    def __init__(self, problems: Sequence[DocumentProblem]) -> None:
        assert problems, "a document refused without a reason"
        super().__init__(problems[0].describe())
        self.problems = tuple(problems)


def read_yaml_mapping(text: str, expected: str) -> dict[str, Any]:
    """The YAML text as a mapping; `expected` says what the mapping holds ("default_team, teams and rules")."""
    try:
        raw = yaml.load(text, Loader=SAFE_YAML_LOADER)
    except yaml.YAMLError as error:
        raise DocumentProblems([DocumentProblem((), f"not valid YAML: {error}")]) from None
    if not isinstance(raw, dict):
        raise DocumentProblems([DocumentProblem((), f"expected a mapping with {expected}")])
    return raw


def validation_problems(error: ValidationError) -> list[DocumentProblem]:
    return [
        DocumentProblem(tuple(item["loc"]), str(item["msg"]).removeprefix("Value error, "))
        for item in error.errors(include_url=False)
    ]


def validated(
    model: type[Model], raw: Any, references: Callable[[Model], list[DocumentProblem]] | None = None
) -> Model:
    """`raw` as `model`, its cross-references checked; DocumentProblems lists everything wrong."""
    try:
        document = model.model_validate(raw)
    except ValidationError as error:
        raise DocumentProblems(validation_problems(error)) from None
    problems = references(document) if references is not None else []
    if problems:
        raise DocumentProblems(problems)
    return document
