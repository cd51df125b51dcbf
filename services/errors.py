"""Domain errors: a stable `code` for programs and a Chinese `message` fit to show to the person."""

from __future__ import annotations


class DomainError(Exception):
    """Anything a user or staff member can get wrong. The doors map `code` to their own shapes."""

    code = "error"
    default_message = "操作没有成功，请稍后再试。"

    def __init__(
        self, code: str | None = None, message: str | None = None, fields: dict[str, str] | None = None
    ):
        self.code = code or type(self).code
        self.message = message or type(self).default_message
        self.fields = fields
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, fields={self.fields!r})"


class _Coded(DomainError):
    # Subclasses fix the code, so callers write NotFound("没有找到这个岗位。") without repeating it.
    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(type(self).code, message, fields)


class NotFound(_Coded):
    code = "not_found"
    default_message = "没有找到相关内容。"


class NotEligible(_Coded):
    code = "not_eligible"
    default_message = "很抱歉，您暂不符合报名条件。"


class Closed(_Coded):
    code = "closed"
    default_message = "已停止报名。"


class DeadlinePassed(_Coded):
    code = "deadline_passed"
    default_message = "报名已截止。"


class InvalidTransition(_Coded):
    code = "invalid_transition"
    default_message = "当前状态下不能进行这个操作。"


class Invalid(_Coded):
    """`fields` maps each wrong field to what is wrong with it."""

    code = "invalid"
    default_message = "填写的信息有误，请检查后重试。"


class Forbidden(_Coded):
    """A staff member whose roles do not allow this action (checked in the services layer too)."""

    code = "forbidden"
    default_message = "您没有权限进行这个操作。"
