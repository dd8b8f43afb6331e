package stream

import (
	"encoding/json"
	"io"
	"sync"
)

// inbound carries bytes from the connection reader to the command (stdin) or to the resize
// decoder. It buffers up to inboundLimit bytes; past that push blocks, so a command that reads
// slowly slows the client down through TCP instead of growing memory.
type inbound struct {
	mu        sync.Mutex
	readable  sync.Cond
	writable  sync.Cond
	buf       []byte
	off       int
	eof       bool // the client half-closed or the connection ended
	abandoned bool // nobody reads any more: pushes are dropped
}

func newInbound() *inbound {
	b := &inbound{}
	b.readable.L = &b.mu
	b.writable.L = &b.mu
	return b
}

// push appends p, copying it. It blocks while the buffer is full.
func (b *inbound) push(p []byte) {
	if len(p) == 0 {
		return
	}
	b.mu.Lock()
	for !b.abandoned && !b.eof && len(b.buf)-b.off >= inboundLimit {
		b.writable.Wait()
	}
	if b.abandoned || b.eof {
		b.mu.Unlock()
		return
	}
	if b.off > 0 && len(b.buf)+len(p) > cap(b.buf) {
		n := copy(b.buf, b.buf[b.off:])
		b.buf = b.buf[:n]
		b.off = 0
	}
	b.buf = append(b.buf, p...)
	b.readable.Signal()
	b.mu.Unlock()
}

// closeWrite marks the end of input: Read returns io.EOF once the buffer is drained.
func (b *inbound) closeWrite() {
	b.mu.Lock()
	b.eof = true
	b.readable.Broadcast()
	b.writable.Broadcast()
	b.mu.Unlock()
}

// abandon drops buffered and future input and wakes everyone; used when the session ends so
// the connection reader never blocks on a reader that is gone.
func (b *inbound) abandon() {
	b.mu.Lock()
	b.abandoned = true
	b.buf = nil
	b.off = 0
	b.readable.Broadcast()
	b.writable.Broadcast()
	b.mu.Unlock()
}

// Read implements io.Reader.
func (b *inbound) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.buf) == b.off && !b.eof && !b.abandoned {
		b.readable.Wait()
	}
	if len(b.buf) == b.off {
		return 0, io.EOF
	}
	n := copy(p, b.buf[b.off:])
	b.off += n
	if b.off == len(b.buf) {
		b.buf = b.buf[:0]
		b.off = 0
	}
	b.writable.Signal()
	return n, nil
}

// stdinReader hides the inbound's other methods from the command.
type stdinReader struct{ in *inbound }

func (r stdinReader) Read(p []byte) (int, error) { return r.in.Read(p) }

// startResize decodes the JSON terminal sizes kubectl writes on the resize stream (one
// json.Encoder value per change) and offers them on the returned channel, which is closed when
// the input ends. When the command does not keep up, older sizes are dropped: only the latest
// matters, and the connection reader must never wait for it.
func startResize(in *inbound) <-chan Size {
	ch := make(chan Size, 4)
	go func() {
		defer close(ch)
		// A decoding error leaves nobody reading: drop further input instead of blocking.
		defer in.abandon()
		dec := json.NewDecoder(in)
		for {
			var s Size
			if err := dec.Decode(&s); err != nil {
				return
			}
			for {
				select {
				case ch <- s:
				default:
					select {
					case <-ch:
					default:
					}
					continue
				}
				break
			}
		}
	}()
	return ch
}
