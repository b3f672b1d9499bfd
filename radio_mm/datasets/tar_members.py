"""Samples of WebDataset tar shards, with what a damaged shard loses reported, not dropped.

webdataset reads a shard with Python's ``tarfile`` in stream mode, which takes a member
header with a bad checksum in the middle of a shard for the end of the archive: the rest of
the shard is silently gone (a damaged header in a shard of 8 samples delivered 2). This
reader is webdataset's ``tarfile_samples`` (``url_opener`` -> tar members -> ``group_by_keys``)
with its member loop replaced by one that notices where the archive stopped: when the block
that ended it is not the zero block of a real end, it scans the rest of the shard for the
member headers it skipped and hands a :class:`DamagedTarHeader` (shard, byte offset, members
lost) to the handler, as a truncated shard's ``ReadError`` is.
"""
import re
import tarfile

from webdataset.tariterators import group_by_keys, url_opener

# webdataset's own conventions (tariterators.tar_file_iterator): metadata members skipped
_SKIP_META = re.compile(r'__[^/]*__($|/)')
_BLOCK = tarfile.BLOCKSIZE


class DamagedTarHeader(OSError):
    """A member header of ``url`` at byte ``offset`` is damaged; ``lost`` members (it and
    those after it) were not read."""

    def __init__(self, url, offset, lost, reason):
        super().__init__(f'damaged tar header at byte {offset} ({reason}): {lost} members '
                         'from there on lost', url)
        self.url, self.offset, self.lost = url, offset, lost


class _HeaderWatch(tarfile.TarInfo):
    """TarInfo that remembers the header block that stopped the archive, and why (tarfile
    forgets both)."""

    @classmethod
    def frombuf(cls, buf, encoding, errors):
        try:
            return super().frombuf(buf, encoding, errors)
        except tarfile.HeaderError as error:
            error.block = buf
            raise

    @classmethod
    def fromtarfile(cls, archive):
        try:
            return super().fromtarfile(archive)
        except tarfile.HeaderError as error:
            if archive.stopped_by is None:  # the innermost: a pax header's member's own
                error.offset = archive.fileobj.tell() - _BLOCK
                archive.stopped_by = error
            raise


# Headers that describe the member after them (pax, GNU long names), not members themselves.
_EXTENSION_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                    tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)


def tar_samples(shards, handler):
    """Samples (``{'__key__', '__url__', <ext>: bytes}``) of ``shards`` (dicts with
    ``url``); errors, and the members a damaged shard loses, go to ``handler``."""
    return group_by_keys(_members(url_opener(shards, handler=handler), handler),
                         handler=handler)


def _members(streams, handler):
    for source in streams:
        url = source['url']
        try:
            for name, data in _read_members(source['stream'], url):
                yield dict(fname=name, data=data, __url__=url)
        except Exception as error:  # noqa: BLE001 - the handler decides, as in webdataset
            if not isinstance(error, DamagedTarHeader):
                error.args = error.args + (source.get('stream'), url)
            if not handler(error):
                break
        yield {}  # end of shard: group_by_keys never joins members of two shards


def _read_members(fileobj, url):
    """(name, bytes) of the regular members; DamagedTarHeader after them if the archive
    stopped at a damaged header."""
    archive = tarfile.open(fileobj=fileobj, mode='r|*', tarinfo=_HeaderWatch)
    archive.stopped_by = None
    try:
        for info in archive:
            if info.isreg() and not _SKIP_META.match(info.name):
                yield info.name, archive.extractfile(info).read()
            archive.members = []  # stream mode: keep no member list
    except tarfile.ReadError:
        if archive.stopped_by is None:  # e.g. a truncated shard: reported as it was
            raise
    stopped = archive.stopped_by
    if stopped is None or isinstance(stopped, (tarfile.EOFHeaderError,
                                               tarfile.EmptyHeaderError)):
        return  # the zero block of a real end, or the end of the file
    # tarfile stopped having read the damaged header block: scan what follows.
    # A damaged extension header's member comes next and is counted there.
    own_member = getattr(stopped, 'block', b'')[156:157] not in _EXTENSION_TYPES
    lost = int(own_member) + _count_members(archive.fileobj)
    raise DamagedTarHeader(url, getattr(stopped, 'offset', archive.offset), lost, stopped)


def _count_members(stream):
    """Members (headers with a valid checksum, less extension headers) in the rest of a tar
    stream; their data are skipped unread."""
    found = 0
    while len(block := stream.read(_BLOCK)) == _BLOCK:
        try:
            info = tarfile.TarInfo.frombuf(block, tarfile.ENCODING, 'surrogateescape')
        except tarfile.HeaderError:
            continue  # data of the damaged member, padding, or the end blocks
        found += info.type not in _EXTENSION_TYPES
        skip = -(-info.size // _BLOCK) * _BLOCK
        while skip > 0:
            chunk = stream.read(min(skip, 1 << 20))
            if not chunk:
                break
            skip -= len(chunk)
    return found
