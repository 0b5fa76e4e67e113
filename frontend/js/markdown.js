// @ts-check
// A small Markdown renderer for notes that cannot inject anything: it builds DOM nodes and only ever sets text
// (textContent), so "<script>" or "<img onerror=...>" in a note is shown as the characters typed. Links keep
// http(s), mailto, in-page (#...) and relative targets; "javascript:" and other schemes become plain text.
//
// Supported: # to ### headings, paragraphs (a blank line ends one), "-"/"*" and "1." lists, "> " quotes,
// ``` fenced code, `inline code`, **bold**, *italic* / _italic_, [text](url).
import { h } from "./dom.js";

const SAFE_URL = /^(https?:\/\/|mailto:|#|\/(?!\/)|\.{0,2}\/)/i;

/**
 * Inline spans of one line of text, as nodes.
 * @param {string} text
 * @returns {Array<Node | string>}
 */
export function inline(text) {
  /** @type {Array<Node | string>} */
  const out = [];
  const re = /`([^`]+)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)|\*([^*\s][^*]*?)\*|(?<![\w])_([^_\s][^_]*?)_(?![\w])/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h("code", {}, m[1]));
    else if (m[2] !== undefined) out.push(h("strong", {}, ...inline(m[2])));
    else if (m[3] !== undefined) {
      out.push(SAFE_URL.test(m[4])
        ? h("a", { href: m[4], rel: "noopener noreferrer", target: m[4].startsWith("#") ? null : "_blank" }, ...inline(m[3]))
        : m[0]);
    } else out.push(h("em", {}, ...inline(m[5] ?? m[6])));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * Render Markdown text into a fragment of safe nodes.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  /** @type {string[]} */
  let para = [];
  const flush = () => {
    if (para.length) frag.append(h("p", {}, ...para.flatMap((l, k) => (k ? [h("br"), ...inline(l)] : inline(l)))));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const body = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i += 1) body.push(lines[i]);
      frag.append(h("pre", { class: "code" }, h("code", {}, body.join("\n"))));
      i += 1;
      continue;
    }
    const head = /^(#{1,3})\s+(.*)$/.exec(line);
    if (head) {
      flush();
      frag.append(h(`h${head[1].length + 2}`, {}, ...inline(head[2])));
      i += 1;
      continue;
    }
    const bullet = /^\s*([-*]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      flush();
      const ordered = /^\s*\d/.test(line);
      const items = [];
      while (i < lines.length && bullet.test(lines[i]) && /^\s*\d/.test(lines[i]) === ordered) {
        items.push(h("li", {}, ...inline(lines[i].replace(bullet, ""))));
        i += 1;
      }
      frag.append(h(ordered ? "ol" : "ul", {}, items));
      continue;
    }
    if (/^>\s?/.test(line)) {
      flush();
      const quoted = [];
      while (i < lines.length && /^>\s?/.test(lines[i])) quoted.push(lines[i++].replace(/^>\s?/, ""));
      frag.append(h("blockquote", {}, renderMarkdown(quoted.join("\n"))));
      continue;
    }
    if (!line.trim()) flush();
    else para.push(line);
    i += 1;
  }
  flush();
  return frag;
}
