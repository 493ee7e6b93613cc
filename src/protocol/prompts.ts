/**
 * Prompt wordings as reCAPTCHA shows them (or as clients pass them on), in English and Chinese,
 * with the question each names and the grid kind its wording implies (undefined: the wording
 * does not say). questions.test.ts checks every row through resolveQuestion and promptGrid.
 * Sources: the widget's own prompts ("Select all images with …" on a 3x3, "Select all squares
 * with …" on a 4x4, "Click verify once there are none left" on a dynamic 3x3), the vendors'
 * question table (shared/docs/protocol.md) and the Chinese names their clients send.
 */
export interface PromptWording {
  text: string;
  id: string;
  grid?: '3x3' | '4x4';
}

export const PROMPT_WORDINGS: readonly PromptWording[] = [
  { text: 'Select all images with a bus', id: '/m/01bjv', grid: '3x3' },
  { text: 'Select all images with buses', id: '/m/01bjv', grid: '3x3' },
  { text: 'Select all images with buses\nClick verify once there are none left.', id: '/m/01bjv', grid: '3x3' },
  { text: 'Select all images with cars Click verify once there are none left', id: '/m/0k4j', grid: '3x3' },
  { text: 'Select all images with crosswalks If there are none, click skip', id: '/m/014xcs', grid: '3x3' },
  { text: 'Select all images with a fire hydrant', id: '/m/01pns0', grid: '3x3' },
  { text: 'Select all images with bicycles', id: '/m/0199g', grid: '3x3' },
  { text: 'Select all images with motorcycles', id: '/m/04_sv', grid: '3x3' },
  { text: 'Select all images with chimneys', id: '/m/01jk_4', grid: '3x3' },
  { text: 'Select all images with palm trees', id: '/m/0cdl1', grid: '3x3' },
  { text: 'Select all images with mountains or hills', id: '/m/09d_r', grid: '3x3' },
  { text: 'Select all images with stairs', id: '/m/01lynh', grid: '3x3' },
  { text: 'Select all images with bridges', id: '/m/015kr', grid: '3x3' },
  { text: 'Select all images with boats', id: '/m/019jd', grid: '3x3' },
  { text: 'Select all images with taxis', id: '/m/0pg52', grid: '3x3' },
  { text: 'Select all images with tractors', id: '/m/013xlm', grid: '3x3' },
  { text: 'Select all images with parking meters', id: '/m/015qbp', grid: '3x3' },
  { text: 'Select all images with a school bus', id: '/m/02yvhj', grid: '3x3' },
  { text: 'Please click each image containing a car', id: '/m/0k4j', grid: '3x3' },
  { text: 'Select all squares with traffic lights', id: '/m/015qff', grid: '4x4' },
  { text: 'Select all squares with traffic lights If there are none, click skip', id: '/m/015qff', grid: '4x4' },
  { text: 'Select all squares with motorcycles', id: '/m/04_sv', grid: '4x4' },
  { text: 'Select all squares with bicycles', id: '/m/0199g', grid: '4x4' },
  { text: 'Select all squares with crosswalks', id: '/m/014xcs', grid: '4x4' },
  { text: 'Select all squares with a bus', id: '/m/01bjv', grid: '4x4' },
  { text: 'Select all squares with stairs', id: '/m/01lynh', grid: '4x4' },
  { text: 'Select all squares with fire hydrants', id: '/m/01pns0', grid: '4x4' },
  { text: 'traffic lights', id: '/m/015qff' },
  { text: 'a fire hydrant', id: '/m/01pns0' },
  { text: 'Bicycles', id: '/m/0199g' },
  { text: '/m/015qff', id: '/m/015qff' },
  { text: '公交车', id: '/m/01bjv' },
  { text: '巴士', id: '/m/01bjv' },
  { text: '请选择包含公交车的所有图片', id: '/m/01bjv', grid: '3x3' },
  { text: '请选择包含公交车的所有图片。', id: '/m/01bjv', grid: '3x3' },
  { text: '选择所有包含巴士的图片', id: '/m/01bjv', grid: '3x3' },
  { text: '请选择包含红绿灯的所有图片。如果没有，请点击“跳过”。', id: '/m/015qff', grid: '3x3' },
  { text: '请选择包含红绿灯的所有方格', id: '/m/015qff', grid: '4x4' },
  { text: '请选择包含摩托车的所有方格。如果没有，请点击“跳过”。', id: '/m/04_sv', grid: '4x4' },
  { text: '选择所有包含自行车的方块', id: '/m/0199g', grid: '4x4' },
  { text: '请点击包含人行横道的所有图片', id: '/m/014xcs', grid: '3x3' },
  { text: '斑马线', id: '/m/014xcs' },
  { text: '交通信号灯', id: '/m/015qff' },
  { text: '消防栓', id: '/m/01pns0' },
  { text: '单车', id: '/m/0199g' },
  { text: '出租车', id: '/m/0pg52' },
  { text: '的士', id: '/m/0pg52' },
  { text: '楼梯', id: '/m/01lynh' },
  { text: '山', id: '/m/09d_r' },
  { text: '棕榈树', id: '/m/0cdl1' },
  { text: '烟囱', id: '/m/01jk_4' },
  { text: '桥', id: '/m/015kr' },
  { text: '船', id: '/m/019jd' },
  { text: '拖拉机', id: '/m/013xlm' },
  { text: '停车计价表', id: '/m/015qbp' },
  { text: '校车', id: '/m/02yvhj' },
  { text: '汽车', id: '/m/0k4j' },
];
