"""Class names of the data set and the reCAPTCHA question IDs each answers (shared/docs/protocol.md)."""

QUESTION_IDS = {
    "car": ["/m/0k4j"],
    "bus": ["/m/01bjv"],
    "motorcycle": ["/m/04_sv"],
    "bicycle": ["/m/0199g"],
    "traffic_light": ["/m/015qff"],
    "crosswalk": ["/m/014xcs"],
    "hydrant": ["/m/01pns0"],
    "palm": ["/m/0cdl1"],
    "bridge": ["/m/015kr"],
    "stairs": ["/m/01lynh"],
    "chimney": ["/m/01jk_4"],
    "mountain": ["/m/09d_r"],
    "taxi": ["/m/0pg52"],
    "school_bus": ["/m/02yvhj"],
    "tractor": ["/m/013xlm"],
    "boat": ["/m/019jd"],
    "parking_meter": ["/m/015qbp"],
    "other": [],
}
