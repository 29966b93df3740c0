"""Slack's external file upload: announce a file, POST its bytes, share it into a conversation.

Sources (docs.slack.dev/reference/methods/files.getUploadURLExternal and
files.completeUploadExternal; both Tier 4):
1. `files.getUploadURLExternal` requires `filename` and `length` (bytes) and takes `alt_txt`
   (at most 1,000 characters: `alt_txt_too_large`); it answers `upload_url` and `file_id`.
2. The client POSTs the bytes to `upload_url`, raw or as `multipart/form-data`; the upload
   service answers 200 (`OK - <length>`). The local workspace refuses a body whose size is not
   the announced `length` (400), as the file would not complete on Slack.
3. `files.completeUploadExternal` requires `files` (a JSON array of `{"id", "title"}`) and
   shares them into `channel_id` (in the thread of `thread_ts`), with `initial_comment` as the
   message text. A file id the workspace does not know, or whose bytes never arrived, is
   `file_not_found` (with a `detail` saying which); a channel it does not know is
   `channel_not_found`, a thread `thread_not_found`.
The shared message carries `files` as conversations.replies returns them: `id`, `name`,
`title`, `mimetype`, `filetype`, `size`, `url_private` (served with the bot token), ...
"""

from __future__ import annotations

import mimetypes
import secrets
from typing import Any

from sandbox.slack import limits
from sandbox.slack.api_base import ApiBase, Args, json_field
from sandbox.slack.limits import ApiError
from sandbox.slack.model import Message, SlackFile

MAX_ALT_TXT = 1_000
MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's 1 GB per file


def _length(args: Args) -> int:
    value = args.get("length")
    try:
        length = int(str(value))
    except ValueError:
        raise ApiError("invalid_arguments", detail="length must be an integer") from None
    if length <= 0 or length > MAX_FILE_BYTES:
        raise ApiError("invalid_arguments",
                       detail=f"length must be between 1 and {MAX_FILE_BYTES} bytes")  # fmt: skip
    return length


def mimetype(name: str) -> str:
    """What Slack says a file is, from its name."""
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class FileMethods(ApiBase):
    """files.getUploadURLExternal, the upload URL and files.completeUploadExternal."""

    async def files_get_upload_url_external(self, args: Args) -> Args:
        limits.require(args, "filename", "length")
        length = _length(args)
        alt_txt = str(args.get("alt_txt") or "")
        if len(alt_txt) > MAX_ALT_TXT:
            raise ApiError("alt_txt_too_large")
        file = SlackFile(id="F" + secrets.token_hex(5).upper(), name=str(args["filename"]),
                         length=length, upload_key=secrets.token_urlsafe(16),
                         alt_txt=alt_txt)  # fmt: skip
        self.workspace.files[file.id] = file
        return {"upload_url": f"{self.base_url}/_sandbox/upload/{file.upload_key}",
                "file_id": file.id}  # fmt: skip

    def receive_upload(self, upload_key: str, content: bytes) -> SlackFile:
        """The bytes POSTed to an upload URL; ValueError when the URL is unknown, already
        used, or the size is not the announced length."""
        file = next((f for f in self.workspace.files.values() if f.upload_key == upload_key), None)
        if file is None or file.content is not None:
            raise ValueError("unknown or already used upload URL")
        if len(content) != file.length:
            raise ValueError(f"length mismatch: announced {file.length} bytes, got {len(content)}")
        file.content = content
        return file

    async def files_complete_upload_external(self, args: Args) -> Args:
        limits.require(args, "files")
        listed = json_field(args, "files")
        if not isinstance(listed, list) or not listed:
            raise ApiError("invalid_arguments", detail="files must be a non-empty JSON array")
        found: list[tuple[SlackFile, str]] = []
        for entry in listed:
            if not isinstance(entry, dict) or not entry.get("id"):
                raise ApiError("invalid_arguments", detail="each file needs an id")
            file = self.workspace.files.get(str(entry["id"]))
            if file is None or file.shared_in is not None:
                raise ApiError("file_not_found", detail=f"no file {entry['id']} to complete")
            if file.content is None:
                never = f"{file.id} was never uploaded to its upload_url"
                raise ApiError("file_not_found", detail=never)
            found.append((file, str(entry.get("title") or file.name)))
        channel = self.channel(args, "channel_id") if args.get("channel_id") else None
        thread_ts = str(args["thread_ts"]) if args.get("thread_ts") else None
        if channel is not None and thread_ts and thread_ts not in channel.messages:
            raise ApiError("thread_not_found")
        for file, title in found:
            file.title = title
        if channel is not None:
            comment = str(args.get("initial_comment") or "")
            text, _ = limits.checked_text("chat.postMessage", comment, self.violations)
            bot = self.workspace.bot
            message = Message(ts=self.workspace.new_ts(), channel=channel.id, user=bot.id,
                              text=text, thread_ts=thread_ts, bot_id=bot.bot_id,
                              files=[self.file_object(f) for f, _ in found])  # fmt: skip
            for file, _ in found:
                file.shared_in = channel.id
            await self._post(channel, message)
        return {"files": [{"id": f.id, "title": title} for f, title in found]}

    def file_object(self, file: SlackFile) -> dict[str, Any]:
        """The `file` object Slack puts in a message's `files`."""
        kind = mimetype(file.name)
        url = f"{self.base_url}/_sandbox/files/{file.id}/{file.name}"
        return {
            "id": file.id, "created": file.created, "timestamp": file.created, "name": file.name,
            "title": file.title or file.name, "mimetype": kind,
            "filetype": file.name.rsplit(".", 1)[-1].lower() if "." in file.name else "binary",
            "user": self.workspace.bot.id, "size": file.length, "mode": "hosted",
            "is_external": False, "is_public": True, "alt_txt": file.alt_txt,
            "url_private": url, "url_private_download": f"{url}?download=1",
            "permalink": f"https://{self.workspace.domain}.slack.com/files/"
                         f"{self.workspace.bot.id}/{file.id}/{file.name}",
        }  # fmt: skip
