import { TopicIndex } from './topic-index';

describe('TopicIndex', () => {
  const ann = { userId: 'ann', tenantId: null };
  const bob = { userId: 'bob', tenantId: null };
  const annOfAcme = { userId: 'ann', tenantId: 'acme' };

  it('says when a topic appears here and when nobody here follows it any more', () => {
    const index = new TopicIndex();
    expect(index.add(ann, 'news')).toBe(true);
    expect(index.add(bob, 'news')).toBe(false);
    expect(index.add(ann, 'news')).toBe(false);
    expect([...index.followersOf(null, 'news')]).toEqual([ann, bob]);
    expect(index.remove(ann, 'news')).toBe(false);
    expect(index.remove(ann, 'news')).toBe(false);
    expect(index.remove(bob, 'news')).toBe(true);
    expect([...index.followersOf(null, 'news')]).toEqual([]);
  });

  it('keeps tenants apart', () => {
    const index = new TopicIndex();
    expect(index.add(ann, 'news')).toBe(true);
    expect(index.add(annOfAcme, 'news')).toBe(true);
    expect([...index.followersOf('acme', 'news')]).toEqual([annOfAcme]);
  });

  it('forgets a recipient at once, answering the topics left without followers', () => {
    const index = new TopicIndex();
    index.add(ann, 'a');
    index.add(ann, 'b');
    index.add(bob, 'b');
    expect(index.removeAll(ann)).toEqual(['a']);
    expect(index.removeAll(ann)).toEqual([]);
    expect([...index.followersOf(null, 'b')]).toEqual([bob]);
  });
});
