/**
 * git's pkt-line framing (gitprotocol-common): four hex digits giving the line's length including
 * themselves, then the line. `s` is one byte per character (ASCII or latin1), as every line we frame
 * is. "0000", the flush packet, ends a section.
 */
export function pktLine(s: string): string {
  return (s.length + 4).toString(16).padStart(4, '0') + s;
}
