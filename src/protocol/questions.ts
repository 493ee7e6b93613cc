/**
 * The question table the vendor family publishes (shared/docs/protocol.md, "Question IDs"),
 * plus IDs seen in the wild, and the resolution of prompt text (English or Chinese) to an ID.
 */
export interface Question {
  id: string;
  english: string;
  /** Singular and alternative English forms used in challenge prompts. */
  aliases: readonly string[];
  chinese: string;
}

export const QUESTIONS: readonly Question[] = [
  { id: '/m/0pg52', english: 'taxis', aliases: ['taxi', 'cabs', 'cab'], chinese: '出租车' },
  { id: '/m/01bjv', english: 'bus', aliases: ['buses', 'busses'], chinese: '巴士' },
  { id: '/m/02yvhj', english: 'school bus', aliases: ['school buses'], chinese: '校车' },
  { id: '/m/04_sv', english: 'motorcycles', aliases: ['motorcycle', 'motorbikes', 'motorbike'], chinese: '摩托车' },
  { id: '/m/013xlm', english: 'tractors', aliases: ['tractor'], chinese: '拖拉机' },
  { id: '/m/01jk_4', english: 'chimneys', aliases: ['chimney'], chinese: '烟囱' },
  { id: '/m/014xcs', english: 'crosswalks', aliases: ['crosswalk', 'pedestrian crossings', 'zebra crossings'], chinese: '人行横道' },
  { id: '/m/015qff', english: 'traffic lights', aliases: ['traffic light', 'traffic signals'], chinese: '红绿灯' },
  { id: '/m/0199g', english: 'bicycles', aliases: ['bicycle', 'bikes', 'bike'], chinese: '自行车' },
  { id: '/m/015qbp', english: 'parking meters', aliases: ['parking meter'], chinese: '停车计价表' },
  { id: '/m/0k4j', english: 'cars', aliases: ['car', 'vehicles'], chinese: '汽车' },
  { id: '/m/015kr', english: 'bridges', aliases: ['bridge'], chinese: '桥' },
  { id: '/m/019jd', english: 'boats', aliases: ['boat'], chinese: '船' },
  { id: '/m/0cdl1', english: 'palm trees', aliases: ['palm tree', 'palms'], chinese: '棕榈树' },
  { id: '/m/09d_r', english: 'mountains or hills', aliases: ['mountains', 'hills', 'mountain', 'hill'], chinese: '山' },
  { id: '/m/01pns0', english: 'fire hydrant', aliases: ['fire hydrants', 'hydrants', 'hydrant'], chinese: '消防栓' },
  { id: '/m/01lynh', english: 'stairs', aliases: ['staircase', 'steps'], chinese: '楼梯' },
  // Seen in the wild, not in the vendor's table (protocol.md).
  { id: '/m/011y23', english: 'stained glass', aliases: [], chinese: '彩色玻璃' },
  { id: '/m/0py27', english: 'train station', aliases: ['train stations'], chinese: '火车站' },
  { id: '/m/08l941', english: 'garage door', aliases: ['garage doors'], chinese: '车库门' },
  { id: '/m/01jw_1', english: 'bus stop', aliases: ['bus stops'], chinese: '公交车站' },
];

const MAX_QUESTION_CHARS = 200;

const byKey = new Map<string, Question>();
for (const q of QUESTIONS) {
  for (const key of [q.id.toLowerCase(), q.english, ...q.aliases, q.chinese]) byKey.set(key, q);
}

const PROMPT_NOISE = [
  /^(please\s+)?(select|click|choose)\s+(all\s+)?(the\s+)?(images?|squares?|tiles?|pictures?)\s+(with|containing|that\s+contain|of)\s+/,
  /\s*(\.|!)?\s*(if there are none,?\s*click skip|click verify once there are none left)\.?$/,
  /^请选择包含/, /^请选择所有包含/, /的(所有)?(图片|图像|方格|方块)(。)?$/,
];

/** Normalise prompt text: lower case, drop the instruction around the object and articles. */
function normalise(text: string): string {
  let t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  for (const re of PROMPT_NOISE) t = t.replace(re, '');
  return t.replace(/^(a|an|the)\s+/, '').replace(/[.!?。]+$/, '').trim();
}

/** Resolve an ID, English prompt text or Chinese name; undefined when it names no question. */
export function resolveQuestion(text: string): Question | undefined {
  if (text.length > MAX_QUESTION_CHARS) return undefined;
  return byKey.get(text.trim().toLowerCase()) ?? byKey.get(normalise(text));
}

export function describeQuestion(text: string): string {
  const shown = text.length > 60 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
  return JSON.stringify(shown);
}

/**
 * The grid kind a prompt's wording names: reCAPTCHA says "images" (图片) for a 3x3 of separate
 * photos and "squares" (方格) for a 4x4 cut from one photo (shared/docs/protocol.md). Undefined
 * for a bare ID or object name.
 */
export function promptGrid(text: string): '3x3' | '4x4' | undefined {
  if (text.length > MAX_QUESTION_CHARS) return undefined;
  const t = text.toLowerCase();
  if (/\bsquares?\b/.test(t) || /(方格|方块|正方形|格子)/.test(t)) return '4x4';
  if (/\b(images?|pictures?|photos?)\b/.test(t) || /(图片|图像|照片)/.test(t)) return '3x3';
  return undefined;
}
