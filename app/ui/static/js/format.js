// Amounts and dates as the viewer reads them. Amounts arrive as integer minor units with their
// currency; they are formatted from a decimal string, so no float ever stands for money.

// Stripe's zero-decimal currencies, the same list as app/domain/money.py (a test compares them):
// their amounts are already whole units. Every other currency has two decimals.
const ZERO_DECIMAL_CURRENCIES = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** How many decimals a major unit of `currency` has, as the API counts minor units. */
export function minorUnitExponent(currency) {
  return ZERO_DECIMAL_CURRENCIES.has(currency.toLowerCase()) ? 0 : 2;
}

/** `formatMoney(123456, 'usd')` → "$1,234.56"; `formatMoney(500, 'jpy')` → "¥500". */
export function formatMoney(amount, currency, locale = undefined) {
  if (!Number.isSafeInteger(amount) || typeof currency !== 'string') return `${amount} ${currency}`;
  const exponent = minorUnitExponent(currency);
  const formatter = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: currency.toUpperCase(),
    minimumFractionDigits: exponent,
    maximumFractionDigits: exponent,
  });
  return formatter.format(decimalString(amount, exponent));
}

/**
 * An amount the API states as decimal text in major units (`"1234.5"`, `"0.125"`, as the legacy
 * migration's totals are), in its currency, with every digit it has: at least the currency's
 * decimals, and any further ones kept rather than rounded. Intl formats a decimal string exactly.
 */
export function formatDecimalMoney(text, currency, locale = undefined) {
  if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text) || typeof currency !== 'string') {
    return `${text} ${currency}`;
  }
  const decimals = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
  const exponent = minorUnitExponent(currency);
  try {
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: currency.toUpperCase(),
      minimumFractionDigits: exponent,
      maximumFractionDigits: Math.min(Math.max(decimals, exponent), 20),
    }).format(text);
  } catch {
    return `${text} ${currency}`; // not an ISO currency: as the API stated it
  }
}

/**
 * An amount typed in major units ("16.20", "1,234.5", "500") as integer minor units of
 * `currency`, read from its digits (never through a float); null when it is not a plain amount
 * or has more decimals than the currency. Grouping commas and spaces are ignored.
 */
export function parseMoney(text, currency) {
  const exponent = minorUnitExponent(currency);
  const match = /^(\d+)(?:\.(\d*))?$/.exec(String(text).trim().replace(/[,\s]/g, ''));
  if (!match || (match[2] ?? '').length > exponent) return null;
  const minor = Number(match[1] + (match[2] ?? '').padEnd(exponent, '0'));
  return Number.isSafeInteger(minor) ? minor : null;
}

/** A duration in seconds as the viewer reads it: "45 seconds", "3 minutes", "2 hours". */
export function formatDuration(seconds, locale = undefined) {
  const units = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  const [unit, size] = units.find(([, length]) => seconds >= length) ?? ['second', 1];
  return new Intl.NumberFormat(locale, { style: 'unit', unit, unitDisplay: 'long' }).format(
    Math.floor(seconds / size),
  );
}

// 123456 with 2 decimals → "1234.56"; -5 → "-0.05". Intl formats such a string exactly.
function decimalString(amount, exponent) {
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** An ISO 8601 time in the viewer's locale and time zone, e.g. "3 Nov 2026, 14:05:09". */
export function formatDate(iso, locale = undefined) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}
