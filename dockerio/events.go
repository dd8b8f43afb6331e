package dockerio

import (
	"context"
	"fmt"
	"io"
	"time"

	"encoding/json"
	"github.com/docker/docker/api/types/events"
)

// eventBuffer lets the reader run a little ahead of a busy consumer without holding more
// than a few KB.
const eventBuffer = 16

// Events streams the engine's events (GET /events) from since (Unix seconds, RFC 3339, a
// duration ago, or "" for new events only) on a dedicated connection. Messages arrive on the
// first channel; when the stream ends (ctx ended, the engine closed it, or it broke) the
// error channel receives exactly one value (ctx.Err(), io.EOF or the failure) and then the
// message channel is closed. Nothing is lost between the two: all messages read before the
// end are delivered first.
func (c *Client) Events(ctx context.Context, since string) (<-chan events.Message, <-chan error) {
	return c.EventsFiltered(ctx, since, nil)
}

// EventsFiltered is Events restricted by filters ("type": container, network, volume, image;
// "label"; "event"; "container"; ...).
func (c *Client) EventsFiltered(ctx context.Context, since string, f Filters) (<-chan events.Message, <-chan error) {
	msgs := make(chan events.Message, eventBuffer)
	errc := make(chan error, 1)
	go func() {
		err := c.readEvents(ctx, since, f, msgs)
		errc <- err
		close(msgs)
	}()
	return msgs, errc
}

func (c *Client) readEvents(ctx context.Context, since string, f Filters, msgs chan<- events.Message) error {
	var q query
	ts, err := apiTimestamp(since, time.Now())
	if err != nil {
		return fmt.Errorf("cannot read events: %w", err)
	}
	if ts != "" {
		q = q.add("since", ts)
	}
	if q, err = q.addFilters(f); err != nil {
		return fmt.Errorf("cannot read events: %w", err)
	}
	s, err := c.openStream(ctx, &streamRequest{method: "GET", path: "/events", query: q})
	if err != nil {
		return fmt.Errorf("cannot read events: %w", err)
	}
	defer s.Close()
	lr := newLineReader(s)
	for {
		line, err := lr.next()
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err == io.EOF {
				return io.EOF
			}
			return fmt.Errorf("cannot read events: %w", err)
		}
		var m events.Message
		if err := json.Unmarshal(line, &m); err != nil {
			return fmt.Errorf("cannot decode event: %w", err)
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
