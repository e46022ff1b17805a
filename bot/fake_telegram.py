"""A stand-in for the Telegram Bot API on 127.0.0.1, speaking its HTTP protocol.

The real python-telegram-bot ``Application`` talks to it through
``ApplicationBuilder().base_url(server.api_url)``: tests, the offline demo and
the ``newsdigest chat`` sandbox use it so that nobody needs a token or a
network. It keeps every message it accepted (the truth for "exactly once"),
simulates users writing to the bot, and can be told to fail: 429 with
``retry_after``, 403 (blocked), 400 (including chat migration), 500, or a hang,
per chat or at random with a seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from digests.localserver import LocalServer, Request

TOKEN = "123456:FAKE-token-for-tests"
MESSAGE_LIMIT = 4096
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-spoiler",
    "span",
    "tg-emoji",
}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)[^>]*>")
# Parameters Telegram takes as strings even when they look like numbers.
_STRING_FIELDS = {"text", "parse_mode", "caption", "callback_query_id", "query", "url"}


@dataclass
class Fault:
    code: int  # 429, 403, 400, 500, or 0 for a hang
    retry_after: int | None = None
    migrate_to: int | None = None
    description: str | None = None


@dataclass(frozen=True)
class RandomFaults:
    """Share of sendMessage calls that fail, by kind (drawn with ``seed``)."""

    too_many: float = 0.0
    server_error: float = 0.0
    hang: float = 0.0
    blocked: float = 0.0
    retry_after: int = 1


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def visible_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees, after Telegram's HTML parsing (which it checks)."""
    if (parse_mode or "").upper() != "HTML":
        return text
    stack: list[str] = []
    for closing, name in _TAG.findall(text):
        name = name.lower()
        if name not in _ALLOWED_TAGS:
            raise ApiError(
                400, f'Bad Request: can\'t parse entities: unsupported start tag "{name}"'
            )
        if closing:
            if not stack or stack.pop() != name:
                raise ApiError(400, "Bad Request: can't parse entities: unmatched end tag")
        else:
            stack.append(name)
    if stack:
        raise ApiError(400, "Bad Request: can't parse entities: unclosed start tag")
    return html.unescape(_TAG.sub("", text))


class FakeTelegram(LocalServer):
    name = "fake-telegram"

    def __init__(self, token: str = TOKEN, *, seed: int = 0, port: int = 0) -> None:
        super().__init__(port)
        self.token = token
        self.bot_user = {
            "id": 4242,
            "is_bot": True,
            "first_name": "newsdigest",
            "username": "newsdigest_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
        }
        self.random = random.Random(seed)
        self.random_faults = RandomFaults()
        self.sent: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.attempts: defaultdict[int, int] = defaultdict(int)
        # (chat, message) -> (text shown, keyboard): Telegram refuses an edit to the same.
        self._contents: dict[tuple[int, int], tuple[str, str]] = {}
        self.members: dict[tuple[int, int], str] = {}
        self.answers: list[dict[str, Any]] = []  # answerCallbackQuery calls
        # Everything said, in order: what a user typed and what the bot sent.
        self.transcript: list[dict[str, Any]] = []
        self._faults: defaultdict[int, deque[Fault]] = defaultdict(deque)
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1
        self._changed = threading.Condition(self._lock)
        self._arrived: asyncio.Event | None = None

    @property
    def api_url(self) -> str:
        """What ``ApplicationBuilder().base_url`` takes (the token is appended)."""
        return self.url("bot")

    # -- what tests and the sandbox do (any thread) ---------------------------
    def user_sends(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Reader",
        language_code: str = "zh-hans",
    ) -> int:
        """A user writes ``text`` to the bot; returns the update id."""
        user = {
            "id": user_id or chat_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
        else:
            chat["title"] = f"chat {chat_id}"
        message: dict[str, Any] = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": chat,
            "text": text,
        }
        if chat_type == "channel":  # posts are signed by the channel, not a user
            message["sender_chat"] = chat
        else:
            message["from"] = user
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        with self._lock:
            self.transcript.append({"chat_id": chat_id, "by": "user", "text": text})
        return self._push({"channel_post" if chat_type == "channel" else "message": message})

    def bot_removed(self, chat_id: int, *, status: str = "kicked") -> int:
        """The user blocked the bot (private) or the bot was removed from a group."""
        chat: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        user = {"id": abs(chat_id), "is_bot": False, "first_name": "Reader"}
        change = {
            "chat": chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": self.bot_user},
            "new_chat_member": {"status": status, "user": self.bot_user, "until_date": 0}
            if status == "kicked"
            else {"status": status, "user": self.bot_user},
        }
        return self._push({"my_chat_member": change})

    def group_migrates(self, chat_id: int, new_chat_id: int) -> int:
        """A group is upgraded to a supergroup (Telegram posts a service message)."""
        message = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "group", "title": f"chat {chat_id}"},
            "from": {"id": 1, "is_bot": False, "first_name": "Admin"},
            "migrate_to_chat_id": new_chat_id,
        }
        return self._push({"message": message})

    def inline_query(self, user_id: int, query: str) -> int:
        """A user types ``@bot query`` in some chat."""
        inline = {
            "id": str(self._message_id()),
            "from": {"id": user_id, "is_bot": False, "first_name": "Reader"},
            "query": query,
            "offset": "",
        }
        return self._push({"inline_query": inline})

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """``status`` (creator, administrator, member, ...) of a user in a group."""
        with self._lock:
            self.members[(chat_id, user_id)] = status

    def press_button(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> int:
        user = {"id": user_id or chat_id, "is_bot": False, "first_name": "Reader"}
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bot_user,
            "text": "…",
        }
        with self._lock:
            self.transcript.append({"chat_id": chat_id, "by": "user", "button": data})
        query = {
            "id": str(self._message_id()),
            "from": user,
            "chat_instance": str(chat_id),
            "message": message,
            "data": data,
        }
        return self._push({"callback_query": query})

    def fail_next(
        self,
        chat_id: int,
        code: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        migrate_to: int | None = None,
    ) -> None:
        """The next ``times`` sends to ``chat_id`` fail with ``code`` (0 = hang)."""
        with self._lock:
            for _ in range(times):
                self._faults[chat_id].append(Fault(code, retry_after, migrate_to))

    def transcript_from(self, start: int) -> list[dict[str, Any]]:
        """What was said (by users and the bot) from entry ``start`` on."""
        with self._lock:
            return list(self.transcript[start:])

    def messages_to(self, chat_id: int) -> list[str]:
        with self._lock:
            return [m["visible_text"] for m in self.sent[chat_id]]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Block until ``predicate()`` holds (checked on every change) or the deadline."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    # -- internals ------------------------------------------------------------
    def _message_id(self) -> int:
        with self._lock:
            self._next_message += 1
            return self._next_message

    def _push(self, update: dict[str, Any]) -> int:
        with self._changed:
            update["update_id"] = self._next_update
            self._next_update += 1
            self._updates.append(update)
            self._changed.notify_all()
        if self._loop is not None and self._arrived is not None:
            self._loop.call_soon_threadsafe(self._arrived.set)
        return int(update["update_id"])

    def _fault_for(self, chat_id: int) -> Fault | None:
        with self._lock:
            if self._faults[chat_id]:
                return self._faults[chat_id].popleft()
        faults = self.random_faults
        draw = self.random.random()
        for share, fault in (
            (faults.too_many, Fault(429, faults.retry_after)),
            (faults.server_error, Fault(500)),
            (faults.hang, Fault(0)),
            (faults.blocked, Fault(403)),
        ):
            if draw < share:
                return fault
            draw -= share
        return None

    async def route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if self._arrived is None:
            self._arrived = asyncio.Event()
        prefix = f"/bot{self.token}/"
        if not request.path.startswith("/bot"):
            await self.respond(writer, 404)
            return
        if not request.path.startswith(prefix):
            await self._answer(
                writer, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            return
        method = request.path[len(prefix) :].split("?", 1)[0]
        try:
            result = await self._call(method, self._parameters(request))
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            await self._answer(writer, error.code, body)
            return
        await self._answer(writer, 200, {"ok": True, "result": result})

    async def _answer(
        self, writer: asyncio.StreamWriter, status: int, body: dict[str, Any]
    ) -> None:
        await self.respond(
            writer,
            status,
            json.dumps(body, ensure_ascii=False).encode(),
            {"Content-Type": "application/json"},
        )

    @staticmethod
    def _parameters(request: Request) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "")
        if "json" in content_type:
            loaded = json.loads(request.body or b"{}")
            return loaded if isinstance(loaded, dict) else {}
        if "multipart" in content_type:
            raise ApiError(400, "Bad Request: file uploads are not supported by the fake server")
        parameters: dict[str, Any] = {}
        for key, value in parse_qsl(request.body.decode("utf-8"), keep_blank_values=True):
            if key in _STRING_FIELDS:
                parameters[key] = value
                continue
            try:
                parameters[key] = json.loads(value)
            except ValueError:
                parameters[key] = value
        return parameters

    async def _call(self, method: str, parameters: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot_user
        if method in {"deleteWebhook", "close", "logOut", "sendChatAction"}:
            return True
        if method in {"answerCallbackQuery", "answerInlineQuery"}:
            with self._changed:
                self.answers.append({"method": method, **parameters})
                self._changed.notify_all()
            return True
        if method == "getChatMember":
            return self._chat_member(int(parameters["chat_id"]), int(parameters["user_id"]))
        if method == "getUpdates":
            return await self._get_updates(parameters)
        if method == "setMyCommands":
            language = str(parameters.get("language_code") or "")
            with self._changed:
                self.commands[language] = list(parameters.get("commands") or [])
                self._changed.notify_all()
            return True
        if method == "getMyCommands":
            return self.commands.get(str(parameters.get("language_code") or ""), [])
        if method == "sendMessage":
            return await self._send_message(parameters)
        if method == "editMessageText":
            return await self._send_message(parameters, edit=True)
        raise ApiError(404, "Not Found: method not found")

    def _chat_member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        with self._lock:
            status = self.members.get((chat_id, user_id), "member")
        member: dict[str, Any] = {
            "status": status,
            "user": {"id": user_id, "is_bot": False, "first_name": "Reader"},
        }
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update(
                {
                    name: False
                    for name in (
                        "can_be_edited",
                        "is_anonymous",
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_promote_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                    )
                }
            )
        return member

    async def _get_updates(self, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(parameters.get("offset") or 0)
        timeout = float(parameters.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        assert self._arrived is not None
        while True:
            with self._lock:
                if offset:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                pending = list(self._updates)
            if pending or time.monotonic() >= deadline or self.stopping:
                return pending
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), max(0.0, deadline - time.monotonic()))

    async def _send_message(
        self, parameters: dict[str, Any], *, edit: bool = False
    ) -> dict[str, Any]:
        chat_id = int(parameters["chat_id"])
        with self._lock:
            self.attempts[chat_id] += 1
        fault = self._fault_for(chat_id)
        if fault is not None:
            if fault.code == 0:
                await self.wait_for_stop()  # the request never gets an answer
            if fault.code == 429:
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {fault.retry_after or 1}",
                    {"retry_after": fault.retry_after or 1},
                )
            if fault.code == 400 and fault.migrate_to is not None:
                raise ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": fault.migrate_to},
                )
            descriptions = {
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: chat not found",
                500: "Internal Server Error",
            }
            raise ApiError(fault.code, descriptions.get(fault.code, "Error"))
        text = str(parameters.get("text", ""))
        shown = visible_text(text, parameters.get("parse_mode"))
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > MESSAGE_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        message_id = int(parameters["message_id"]) if edit else self._message_id()
        content = (shown, json.dumps(parameters.get("reply_markup"), sort_keys=True))
        if edit and self._contents.get((chat_id, message_id)) == content:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        self._contents[(chat_id, message_id)] = content
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "from": self.bot_user,
            "text": shown,
        }
        if "reply_markup" in parameters:
            message["reply_markup"] = parameters["reply_markup"]
        record = {
            **message,
            "visible_text": shown,
            "raw": text,
            "parse_mode": parameters.get("parse_mode"),
            "allow_paid_broadcast": bool(parameters.get("allow_paid_broadcast")),
            "edit": edit,
        }
        with self._changed:
            self.sent[chat_id].append(record)
            self.transcript.append({**record, "chat_id": chat_id, "by": "bot"})
            self._changed.notify_all()
        return message
