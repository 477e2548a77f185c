// Building the DOM from data. Text always goes in as text (never parsed as HTML), so nothing the
// API returns can run as script on a page that holds the user's token.

/**
 * An element: `h('a', {href: '#/x', class: 'c', onClick: fn}, 'text', child, [more])`.
 * `null`, `undefined` and `false` attributes and children are left out.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else {
      element.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(element, ...children);
  return element;
}

export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : String(child));
  }
  return parent;
}

export function replaceContent(parent, ...children) {
  parent.replaceChildren();
  return append(parent, ...children);
}
