import { SseParser } from './sse-parser.js';

describe('SseParser', () => {
  it('assembles events from fields, whatever the chunks and line ends', () => {
    const text =
      'retry: 3000\r\nevent: unread-count\r\nid: 7\r\ndata: {"count":1}\r\n\r\n' +
      ': ping\n\nevent: notification\nid: 8\ndata: {"a":\ndata: 1}\n\n';
    const whole = new SseParser().push(text);
    const parser = new SseParser();
    const pieces = [...text].flatMap((char) => parser.push(char)); // one character at a time
    for (const messages of [whole, pieces]) {
      expect(messages).toEqual([
        { event: 'unread-count', data: '{"count":1}', id: '7' },
        { event: 'notification', data: '{"a":\n1}', id: '8' },
      ]);
    }
    expect(parser.retry).toBe(3000);
    expect(parser.lastEventId).toBe('8');
  });

  it('keeps the id and retry of a block without data, and dispatches nothing for it', () => {
    const parser = new SseParser();
    expect(parser.push('id: 12\nretry: 750\n: shutting down: reconnect\n\n')).toEqual([]);
    expect(parser.lastEventId).toBe('12');
    expect(parser.retry).toBe(750);
  });

  it('waits for the end of a line and of an event before dispatching', () => {
    const parser = new SseParser();
    expect(parser.push('event: live\ndata: {}')).toEqual([]);
    expect(parser.push('\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'live', data: '{}', id: undefined }]);
  });

  it('ignores unknown fields, a retry that is not a number and an id with NUL', () => {
    const parser = new SseParser();
    const messages = parser.push('foo: bar\nretry: soon\nid: a\0b\ndata\n\n');
    expect(messages).toEqual([{ event: 'message', data: '', id: undefined }]);
    expect(parser.retry).toBeUndefined();
  });
});
