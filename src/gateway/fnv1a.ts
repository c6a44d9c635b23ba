/**
 * 32-bit FNV-1a of `text`: a cheap, stable hash, for picking which routes a failpoint drops and which slice of the
 * heartbeat period an instance refreshes its records in.
 */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
