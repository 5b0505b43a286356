"""`gantool eval`: FID, KID, precision/recall, MS-SSIM diversity, nearest neighbours, the report
and the quiz page. Heavy libraries are imported inside functions, not here."""
