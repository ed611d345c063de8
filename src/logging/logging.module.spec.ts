import { withoutTicket } from './logging.module';

describe('withoutTicket', () => {
  it.each([
    ['/api/v1/notifications/stream?ticket=abc', '/api/v1/notifications/stream?ticket=[redacted]'],
    ['/s?lastEventId=4&ticket=abc&x=1', '/s?lastEventId=4&ticket=[redacted]&x=1'],
    ['/s?%74icket=abc', '/s?%74icket=[redacted]'],
    ['/s?TICKET=abc', '/s?TICKET=[redacted]'],
    ['/s?tickets=abc&notticket=1', '/s?tickets=abc&notticket=1'],
    ['/s?%E0=1', '/s?%E0=1'],
    ['/api/v1/notifications', '/api/v1/notifications'],
  ])('%s → %s', (url, logged) => {
    expect(withoutTicket(url)).toBe(logged);
  });
});
