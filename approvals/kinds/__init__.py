"""Action kinds: what one action type means, each in one module.

`base.ActionKind` is the interface, `registry` loads the kinds named in ACTIONHUB_ACTION_KINDS.
The kinds whose effect is on ActionHub itself live here (config_change, model_switch, api_call);
chat lives in chat/, skill_execution and file_operation in skills/.
"""
