/**
 * Text from the system under test (a gateway's error output, a label value, a close reason) may hold any
 * character. XML 1.0 allows only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF; one ESC or NUL,
 * or a lone UTF-16 surrogate, makes a whole junit.xml unreadable. These helpers make any string safe to embed.
 */

/** Code points XML 1.0 forbids (with the `u` flag a lone surrogate is one code point and matches; a pair does not). */
const XML_FORBIDDEN = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Replaces every code point XML 1.0 forbids with a visible `\u{…}` marker, so the reader still sees that an ESC
 * or NUL was there.
 */
export function stripXmlForbidden(text: string): string {
  return text.replace(XML_FORBIDDEN, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Escapes text for an XML element body (after {@link stripXmlForbidden}). */
export function xmlText(text: string): string {
  return stripXmlForbidden(text).replace(/[<>&]/g, (c) => (c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&amp;"));
}

/**
 * Escapes text for a double- or single-quoted XML attribute. Tabs and line breaks become character references:
 * a parser would otherwise normalise them to spaces.
 */
export function xmlAttribute(text: string): string {
  return stripXmlForbidden(text).replace(/[<>&"'\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}
