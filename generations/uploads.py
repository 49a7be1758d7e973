"""An upload handler that refuses an oversize file while it streams in, instead of writing
gigabytes to a temporary file first and refusing it afterwards."""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class SizeCapUploadHandler(FileUploadHandler):
    """Runs before Django's own handlers; skips any file over DAILIES_MAX_UPLOAD_BYTES and notes
    its name on the request (`request.oversize_uploads`) so the view can say why."""

    def __init__(self, request=None):
        super().__init__(request)
        if request is not None and not hasattr(request, "oversize_uploads"):
            request.oversize_uploads = []
        self.received = 0

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.DAILIES_MAX_UPLOAD_BYTES:
            if self.request is not None:
                self.request.oversize_uploads.append(self.file_name)
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file object
