-- What a report (feedbackTask, reportIncorrectImageCaptcha) needs beside a result kept in the
-- SQLite file (002_results): the picture as sent, its kind, the question and the class it meant.
-- NULL columns: a result stored before this migration, or a picture dropped for MAX_STORED_PICTURE_BYTES.
ALTER TABLE results ADD COLUMN kind     TEXT;   -- 3x3 | 4x4 | 1x1
ALTER TABLE results ADD COLUMN question TEXT;   -- question ID, e.g. /m/0k4j
ALTER TABLE results ADD COLUMN class    TEXT;   -- the model's class for it, e.g. car
ALTER TABLE results ADD COLUMN picture  BLOB;   -- the picture's bytes as the client sent them
