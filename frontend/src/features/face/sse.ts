/** A minimal text/event-stream parser (the WHATWG format), fed chunk by chunk. */

export interface ServerSentEvent {
  id: string | null;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | null = null;

  /** Parses a chunk and returns the events it completed. */
  feed(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';

    const events: ServerSentEvent[] = [];
    for (const line of lines) {
      const event = this.readLine(line);
      if (event) {
        events.push(event);
      }
    }
    return events;
  }

  private readLine(line: string): ServerSentEvent | null {
    if (line === '') {
      return this.dispatch();
    }
    if (line.startsWith(':')) {
      return null; // a comment: the server's heartbeat
    }

    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }

    if (field === 'data') {
      this.data.push(value);
    } else if (field === 'event') {
      this.event = value;
    } else if (field === 'id' && !value.includes('\0')) {
      this.id = value;
    }
    return null;
  }

  private dispatch(): ServerSentEvent | null {
    const hasData = this.data.length > 0;
    const event = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
    this.data = [];
    this.event = '';
    return hasData ? event : null;
  }
}
