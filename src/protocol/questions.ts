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
  /** Other Chinese names used in prompts (公交车 for 巴士). */
  chineseAliases?: readonly string[];
}

export const QUESTIONS: readonly Question[] = [
  { id: '/m/0pg52', english: 'taxis', aliases: ['taxi', 'cabs', 'cab'], chinese: '出租车', chineseAliases: ['的士', '出租汽车'] },
  { id: '/m/01bjv', english: 'bus', aliases: ['buses', 'busses'], chinese: '巴士', chineseAliases: ['公交车', '公共汽车', '大巴'] },
  { id: '/m/02yvhj', english: 'school bus', aliases: ['school buses'], chinese: '校车' },
  { id: '/m/04_sv', english: 'motorcycles', aliases: ['motorcycle', 'motorbikes', 'motorbike'], chinese: '摩托车', chineseAliases: ['机车', '摩托'] },
  { id: '/m/013xlm', english: 'tractors', aliases: ['tractor'], chinese: '拖拉机' },
  { id: '/m/01jk_4', english: 'chimneys', aliases: ['chimney'], chinese: '烟囱' },
  { id: '/m/014xcs', english: 'crosswalks', aliases: ['crosswalk', 'pedestrian crossings', 'zebra crossings'], chinese: '人行横道', chineseAliases: ['斑马线'] },
  { id: '/m/015qff', english: 'traffic lights', aliases: ['traffic light', 'traffic signals'], chinese: '红绿灯', chineseAliases: ['交通信号灯', '信号灯', '交通灯'] },
  { id: '/m/0199g', english: 'bicycles', aliases: ['bicycle', 'bikes', 'bike'], chinese: '自行车', chineseAliases: ['单车', '脚踏车'] },
  { id: '/m/015qbp', english: 'parking meters', aliases: ['parking meter'], chinese: '停车计价表', chineseAliases: ['停车计时器', '停车收费表', '咪表'] },
  { id: '/m/0k4j', english: 'cars', aliases: ['car', 'vehicles'], chinese: '汽车', chineseAliases: ['小汽车', '轿车', '车辆'] },
  { id: '/m/015kr', english: 'bridges', aliases: ['bridge'], chinese: '桥', chineseAliases: ['桥梁'] },
  { id: '/m/019jd', english: 'boats', aliases: ['boat'], chinese: '船', chineseAliases: ['船只', '小船'] },
  { id: '/m/0cdl1', english: 'palm trees', aliases: ['palm tree', 'palms', 'palm'], chinese: '棕榈树', chineseAliases: ['棕榈'] },
  { id: '/m/09d_r', english: 'mountains or hills', aliases: ['mountains', 'hills', 'mountain', 'hill'], chinese: '山', chineseAliases: ['山脉', '山丘', '山或丘陵', '山峰'] },
  { id: '/m/01pns0', english: 'fire hydrant', aliases: ['fire hydrants', 'hydrants', 'hydrant'], chinese: '消防栓', chineseAliases: ['消防龙头'] },
  { id: '/m/01lynh', english: 'stairs', aliases: ['staircase', 'steps'], chinese: '楼梯', chineseAliases: ['台阶', '阶梯'] },
  // Seen in the wild, not in the vendor's table (protocol.md).
  { id: '/m/011y23', english: 'stained glass', aliases: [], chinese: '彩色玻璃' },
  { id: '/m/0py27', english: 'train station', aliases: ['train stations'], chinese: '火车站' },
  { id: '/m/08l941', english: 'garage door', aliases: ['garage doors'], chinese: '车库门' },
  { id: '/m/01jw_1', english: 'bus stop', aliases: ['bus stops'], chinese: '公交车站' },
];

const MAX_QUESTION_CHARS = 200;

const byKey = new Map<string, Question>();
for (const q of QUESTIONS) {
  for (const key of [q.id.toLowerCase(), q.english, ...q.aliases, q.chinese, ...(q.chineseAliases ?? [])]) byKey.set(key, q);
}

/** The wording around the object's name in real prompts (prompts.ts collects them, with a test each). */
const PROMPT_NOISE = [
  /\s*(\.|!)?\s*(if there are none,?\s*click skip|click verify once there are none left)\.?$/,
  /^(please\s+)?(select|click( on)?|choose|tap)\s+(all\s+|each\s+)?(the\s+)?(images?|squares?|tiles?|pictures?)\s+(with|containing|that\s+contain|of)\s+/,
  /[,，。.]?\s*(如果没有|若没有)[^]*$/, /^(请)?(点击|选择)(所有)?包含\s*/, /\s*的(所有)?(图片|图像|方格|方块)\s*[。.]?$/,
];

/** Normalise prompt text: lower case, drop the instruction around the object and articles. */
function normalise(text: string): string {
  let t = text.trim().toLowerCase().replace(/\s+/g, ' ');
  for (const re of PROMPT_NOISE) t = t.replace(re, '');
  return t.replace(/^(a|an|the)\s+/, '').replace(/[.!?。]+$/, '').replace(/^[“"']|[”"']$/g, '').trim();
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

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)));
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The known questions closest to an unknown one by edit distance ("trafic lights", "/m/015qf" →
 * traffic lights), those at the smallest distance; none when nothing is within a third of the text's length.
 */
export function suggestQuestions(text: string, limit = 3): Question[] {
  if (text.length > MAX_QUESTION_CHARS) return [];
  const t = normalise(text);
  if (t.length === 0) return [];
  const best = new Map<Question, number>();
  for (const [key, q] of byKey) {
    const d = editDistance(t, key);
    if (d <= Math.max(1, Math.floor(Math.max(t.length, key.length) / 3)) && d < (best.get(q) ?? Infinity)) best.set(q, d);
  }
  const closest = Math.min(...best.values());
  // only the nearest: "/m/015qf" is one edit from traffic lights, two from bridges (/m/015kr)
  return [...best].filter(([, d]) => d === closest).slice(0, limit).map(([q]) => q);
}
