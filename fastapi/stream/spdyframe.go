package stream

import (
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"io"
	"strings"
)

// SPDY/3 frame types, flags and status codes used here.
const (
	spdyVersion = 3

	typeSynStream    = 1
	typeSynReply     = 2
	typeRstStream    = 3
	typeSettings     = 4
	typePing         = 6
	typeGoAway       = 7
	typeHeaders      = 8
	typeWindowUpdate = 9

	flagFin = 0x01

	rstProtocolError = 1
	rstInvalidStream = 2

	goAwayOK            = 0
	goAwayProtocolError = 1
)

// Limits on what a client may send in control frames. Real clients send a handful of short
// headers per stream; anything far larger is refused rather than buffered.
const (
	maxControlFrame = 64 << 10
	maxHeaderPairs  = 64
	maxHeaderBytes  = 16 << 10 // decompressed name and value bytes of one block
	maxPendingZlib  = 4 << 10  // compressed bytes the decoder may leave unread between blocks
)

// spdyDictionary is the zlib dictionary of SPDY/3 header compression (draft 3, section
// 2.6.10.1): length-prefixed common header names, then a run of common values. Both sides
// must use it byte for byte; zlib checks it through its Adler-32 checksum.
var spdyDictionary = func() []byte {
	names := []string{
		"options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
		"accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
		"cache-control", "connection", "content-base", "content-encoding", "content-language",
		"content-length", "content-location", "content-md5", "content-range", "content-type",
		"date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since",
		"if-none-match", "if-range", "if-unmodified-since", "last-modified", "location",
		"max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
		"retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent",
		"vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK",
		"version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin",
	}
	values := []string{
		"100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
		"203 Non-Authoritative Information", "204 No Content", "301 Moved Permanently",
		"400 Bad Request", "401 Unauthorized", "403 Forbidden", "404 Not Found",
		"500 Internal Server Error", "501 Not Implemented", "503 Service Unavailable",
		"Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
		"Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
		"chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,",
		"text/plain,text/javascript,public", "private", "max-age=", "gzip,deflate,sdch",
		"charset=utf-8", "charset=iso-8859-1,utf-,*,enq=0.",
	}
	var d []byte
	for _, n := range names {
		d = binary.BigEndian.AppendUint32(d, uint32(len(n)))
		d = append(d, n...)
	}
	return append(d, strings.Join(values, "")...)
}()

// spdyZlibHeader starts the server's header-compression stream: deflate with a 32 KiB window,
// a preset dictionary (FDICT) and the dictionary's Adler-32.
var spdyZlibHeader = binary.BigEndian.AppendUint32([]byte{0x78, 0x20}, adler32.Checksum(spdyDictionary))

// spdyHeader is a decoded 8-byte frame header.
type spdyHeader struct {
	control  bool
	version  uint16 // control frames
	typ      uint16 // control frames
	streamID uint32 // data frames
	flags    byte
	length   uint32 // 24 bits
}

// parseSPDYHeader decodes the 8-byte header at the start of b, or returns errNeedMore.
func parseSPDYHeader(b []byte) (spdyHeader, error) {
	var h spdyHeader
	if len(b) < 8 {
		return h, errNeedMore
	}
	w := binary.BigEndian.Uint32(b)
	if w&0x80000000 != 0 {
		h.control = true
		h.version = uint16(w>>16) & 0x7fff
		h.typ = uint16(w)
	} else {
		h.streamID = w
	}
	w = binary.BigEndian.Uint32(b[4:])
	h.flags = byte(w >> 24)
	h.length = w & 0xffffff
	return h, nil
}

// appendControlHeader appends a control frame header.
func appendControlHeader(dst []byte, typ uint16, flags byte, length int) []byte {
	dst = append(dst, 0x80, spdyVersion, byte(typ>>8), byte(typ))
	return binary.BigEndian.AppendUint32(dst, uint32(flags)<<24|uint32(length))
}

// appendDataHeader appends a data frame header.
func appendDataHeader(dst []byte, streamID uint32, flags byte, length int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, streamID&0x7fffffff)
	return binary.BigEndian.AppendUint32(dst, uint32(flags)<<24|uint32(length))
}

// headerEncoder writes header blocks as zlib stored blocks. The client's decompressor is
// stateful across frames, so the blocks must reach the wire in the order they were encoded:
// callers hold the session's write lock.
type headerEncoder struct{ started bool }

// appendBlock appends the compressed form of pairs (name, value, name, value...).
func (e *headerEncoder) appendBlock(dst []byte, pairs ...string) []byte {
	if !e.started {
		dst = append(dst, spdyZlibHeader...)
		e.started = true
	}
	n := 4
	for _, p := range pairs {
		n += 4 + len(p)
	}
	// One non-final stored block with the pairs, then an empty one, which is what a zlib sync
	// flush ends with. Go's inflater only hands out a block's bytes when the next block
	// begins, and the empty block is what releases them without reading past the frame.
	dst = append(dst, 0, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(pairs)/2))
	for _, p := range pairs {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p)))
		dst = append(dst, p...)
	}
	return append(dst, 0, 0, 0, 0xff, 0xff)
}

// zlibSource feeds header blocks to the decompressor one frame at a time. It implements
// io.ByteReader so flate reads only what it needs: a block ends with the empty stored block of
// the client's sync flush, and nothing past it is read until the next frame arrives.
type zlibSource struct {
	buf []byte
	off int
}

func (z *zlibSource) Read(p []byte) (int, error) {
	if z.off == len(z.buf) {
		return 0, io.EOF
	}
	n := copy(p, z.buf[z.off:])
	z.off += n
	return n, nil
}

func (z *zlibSource) ReadByte() (byte, error) {
	if z.off == len(z.buf) {
		return 0, io.EOF
	}
	b := z.buf[z.off]
	z.off++
	return b, nil
}

// headerDecoder decompresses the client's header blocks. Its state spans the whole
// connection; once a block fails to decode the state is lost and the session must end.
type headerDecoder struct {
	src    zlibSource
	zr     io.ReadCloser
	broken error
	tmp    [4]byte
}

// decode decompresses one header block and returns its pairs, lowercased names first. Values
// with several NUL-separated parts are returned whole.
func (d *headerDecoder) decode(block []byte) (map[string]string, error) {
	if d.broken != nil {
		return nil, d.broken
	}
	// Keep what the previous block left unread (the end of a sync flush) in front of the new
	// block; block itself lives in a buffer the caller reuses.
	rest := len(d.src.buf) - d.src.off
	if rest+len(block) > maxControlFrame+maxPendingZlib {
		d.broken = fmt.Errorf("cannot decode header block: %w", errTooLarge)
		return nil, d.broken
	}
	d.src.buf = append(d.src.buf[:0], d.src.buf[d.src.off:]...)
	d.src.buf = append(d.src.buf, block...)
	d.src.off = 0
	h, err := d.read()
	if err == nil && len(d.src.buf)-d.src.off > maxPendingZlib {
		err = fmt.Errorf("cannot leave %d compressed bytes unread: %w", len(d.src.buf)-d.src.off, errProtocol)
	}
	if err != nil {
		d.broken = err
		return nil, err
	}
	return h, nil
}

func (d *headerDecoder) read() (map[string]string, error) {
	if d.zr == nil {
		zr, err := zlib.NewReaderDict(&d.src, spdyDictionary)
		if err != nil {
			return nil, fmt.Errorf("cannot start header decompression: %w: %w", err, errProtocol)
		}
		d.zr = zr
	}
	count, err := d.uint32()
	if err != nil {
		return nil, err
	}
	if count > maxHeaderPairs {
		return nil, fmt.Errorf("cannot accept %d header pairs: %w", count, errTooLarge)
	}
	h := make(map[string]string, count)
	total := 0
	for range count {
		var kv [2]string
		for i := range kv {
			n, err := d.uint32()
			if err != nil {
				return nil, err
			}
			if total += int(min(n, maxHeaderBytes+1)); total > maxHeaderBytes {
				return nil, fmt.Errorf("cannot accept header block over %d bytes: %w", maxHeaderBytes, errTooLarge)
			}
			b := make([]byte, n)
			if _, err := io.ReadFull(d.zr, b); err != nil {
				return nil, fmt.Errorf("cannot decompress header block: %w: %w", err, errProtocol)
			}
			kv[i] = string(b)
		}
		h[strings.ToLower(kv[0])] = kv[1]
	}
	return h, nil
}

func (d *headerDecoder) uint32() (uint32, error) {
	if _, err := io.ReadFull(d.zr, d.tmp[:]); err != nil {
		return 0, fmt.Errorf("cannot decompress header block: %w: %w", err, errProtocol)
	}
	return binary.BigEndian.Uint32(d.tmp[:]), nil
}
