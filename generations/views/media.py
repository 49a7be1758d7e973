"""Media files go through membership checks, with HTTP Range support: browsers seek in a
video by asking for byte ranges, and frame-accurate seeking needs it."""

import mimetypes
import os
import re

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from ..access import get_take
from ..selectors.selects import media_filename

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_FIELDS = {"video": "media", "poster": "poster", "thumb": "thumbnail", "filmstrip": "filmstrip"}


class _RangeFile:
    """Iterate over [start, end] of a file in chunks."""

    def __init__(self, path: str, start: int, length: int, chunk: int = 256 * 1024):
        self.path, self.start, self.length, self.chunk = path, start, length, chunk

    def __iter__(self):
        with open(self.path, "rb") as f:
            f.seek(self.start)
            remaining = self.length
            while remaining > 0:
                data = f.read(min(self.chunk, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data


def ranged_file_response(request, path: str, content_type: str, filename: str | None = None):
    size = os.path.getsize(path)
    header = request.headers.get("Range", "")
    match = _RANGE.match(header.strip()) if header else None
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
        else:  # suffix range: the last N bytes
            start, end = max(0, size - int(last)), size - 1
        if start >= size or start > end:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        from django.http import StreamingHttpResponse

        response = StreamingHttpResponse(
            _RangeFile(path, start, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    if filename:
        # inline for the player; ?download=1 saves it. Either way under a name an editor can
        # relink by (the same name the selects ZIP and exported timelines use).
        attachment = request.GET.get("download") == "1"
        response["Content-Disposition"] = content_disposition_header(attachment, filename)
    return response


@login_required
@require_GET
def take_media(request, slug, take_id, kind):
    _access, take = get_take(request, slug, take_id)
    field = _FIELDS.get(kind)
    file = getattr(take, field, None) if field else None
    if not file:
        raise Http404("No such file")
    try:
        path = file.path
    except NotImplementedError:  # remote storage: hand out its URL
        from django.shortcuts import redirect

        return redirect(file.url)
    if not os.path.exists(path):
        raise Http404("File missing")
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return ranged_file_response(request, path, content_type, media_filename(take, kind))
