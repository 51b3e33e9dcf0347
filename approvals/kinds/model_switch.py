"""model_switch: make another model the default for chat."""

from __future__ import annotations

from typing import Any

from approvals.kinds.base import ActionKind, Classification, Errors, Reversibility, check_keys, check_string, clip
from approvals.kinds.setting_writes import model_require, runtime_setting_write
from approvals.models import Action, SecurityLevel
from llm.client import llm_unreachable_reason


class ModelSwitchKind(ActionKind):
    name = "model_switch"
    label = "Model switch"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {"model": {"type": "string"}},
            "required": ["model"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("model",))
        check_string(parameters, "model", errors, max_length=200)

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        # Never reached while default_model is in the runtime settings table, which decides first.
        return Classification(SecurityLevel.CRITICAL, ["model_switch changes the default model"])

    def setting_written(self, parameters: dict[str, Any]) -> str | None:
        return "default_model"

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("reversible", "the previous model can be switched back")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return True

    def summary(self, action: Action) -> str:
        return clip(f"switch the active model to {(action.parameters or {}).get('model', '')}")

    def known_failure(self, action: Action) -> str | None:
        return llm_unreachable_reason()

    def run(self, action: Action) -> dict[str, Any]:
        model = action.parameters["model"]
        model_require(model)
        runtime_setting_write(action, model)
        return {"model": model}
