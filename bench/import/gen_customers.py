#!/usr/bin/env python3
"""Deterministic generator of customer CSV files for the import benchmark and tests.

Writes N data rows (default 1,000,000) of realistic customers -- Chinese and English
names, +86 mobiles (some US numbers), email, city, address, five custom fields
(industry enum, company_size, signup_date, budget, notes) and tags -- plus, beside
the CSV, a JSON "truth" file with the exact counts the importer must report.

Bad-input variants, each touching its own rows (a row gets at most one defect):
  --broken-quoting-rate R  stray quote, text after a closing quote, or a quote never
                           closed in the name cell: exactly one failed row each for
                           the Waihu reader (docs/import-csv.md explains why)
  --invalid-phone-rate R   phone that is not a valid number for CN
  --duplicate-rate R       phone of an earlier valid row, written another way
  --formula-cells R        notes starting with = + - @ (for export neutralisation)
  --gb18030                encode the file as GB18030 instead of UTF-8
Python 3 standard library only. Example:
  gen_customers.py --rows 1000000 --seed 1 --invalid-phone-rate 0.10 --out /tmp/c.csv
"""
import argparse
import json
import random
import sys

HEADER = ["name", "phone", "email", "city", "address", "industry", "company_size",
          "signup_date", "budget", "notes", "tags"]
INDUSTRIES = ["education", "finance", "retail", "manufacturing", "healthcare",
              "real_estate", "internet", "logistics"]
TAGS = ["high_intent", "closed", "callback", "vip", "new_lead", "no_answer", "wechat_added",
        "price_sensitive", "renewal", "trial_user", "referral", "do_not_disturb"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁龙林欣怡梓涵子轩雨泽浩然思远佳琪婷雪梅晨阳博文嘉怡"
EN_FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda",
            "David", "Elizabeth", "William", "Susan", "Richard", "Jessica", "Joseph", "Sarah",
            "Thomas", "Karen", "Daniel", "Lisa", "Kevin", "Nancy", "Brian", "Emily"]
EN_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
           "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Clark",
           "O'Brien", "Walker", "Hall", "Young"]
CN_CITIES = [("北京", ["朝阳区建国路", "海淀区中关村大街", "东城区王府井大街", "丰台区南三环西路"]),
             ("上海", ["浦东新区世纪大道", "徐汇区漕溪北路", "静安区南京西路", "闵行区七莘路"]),
             ("广州", ["天河区天河路", "越秀区中山五路", "海珠区新港中路"]),
             ("深圳", ["南山区科技园南路", "福田区深南大道", "宝安区新安六路"]),
             ("杭州", ["西湖区文三路", "滨江区江南大道", "余杭区文一西路"]),
             ("成都", ["武侯区人民南路", "锦江区春熙路", "高新区天府大道"]),
             ("武汉", ["武昌区中南路", "洪山区珞喻路"]),
             ("南京", ["鼓楼区中山北路", "玄武区珠江路"]),
             ("西安", ["雁塔区小寨东路", "碑林区南大街"]),
             ("重庆", ["渝中区解放碑", "江北区观音桥"])]
US_CITIES = [("New York", "212"), ("San Francisco", "415"), ("Washington", "202"),
             ("Los Angeles", "310"), ("Boston", "617"), ("Chicago", "312"), ("Seattle", "206")]
US_STREETS = ["Main Street", "Oak Avenue", "Market Street", "Broadway", "Pine Street"]
MOBILE_PREFIXES = ["130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
                   "150", "151", "152", "153", "155", "156", "157", "158", "159", "166",
                   "170", "171", "172", "173", "175", "176", "177", "178", "180", "181",
                   "182", "183", "184", "185", "186", "187", "188", "189", "198", "199"]
CN_DOMAINS = ["qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "aliyun.com"]
EN_DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "example.com"]
NOTES = ["", "", "", "客户对价格敏感，需要再跟进", "已加微信", "下周二下午回电", "interested in the annual plan",
         "asked for a quote, follow up Friday", "说\"考虑一下\"", "decision maker: CFO, budget approved",
         "不在办公室，留言了", "wants a demo; prefers email", "老客户转介绍", "price too high, \"maybe later\""]
FORMULAS = ["=1+2", "=HYPERLINK(\"http://evil.example/?q=1\",\"click\")", "+86-138", "-2+3",
            "@SUM(A1:A9)", "=cmd|' /C calc'!A0", "  =1+1"]
# Not valid for default country CN (phone_normalize): 5 digits, 10-digit mobile,
# 1[0-2] prefix, letters, a 12-digit mobile.
INVALID_PHONES = ["12345", "1381234567", "12812345678", "1381234abcd", "138123456789",
                  "+86 138 1234 567", "0000"]

# Bijections from the row number to distinct numbers (a*i+b mod m, gcd(a, m) = 1).
CN_SPACE, CN_A, CN_B = 10 ** 8, 48271 * 7, 12345679
US_SPACE, US_A, US_B = 8 * 10 ** 6, 7919, 424242


def cn_phone(i):
    suffix = (i * CN_A + CN_B) % CN_SPACE
    return MOBILE_PREFIXES[i % len(MOBILE_PREFIXES)] + "%08d" % suffix


def us_phone(i, area):
    v = (i * US_A + US_B) % US_SPACE
    return area + "%03d" % (200 + v // 10000) + "%04d" % (v % 10000)


def cn_format(digits, rng):
    """Ways people write the same Chinese mobile; all normalise to +86<digits>."""
    k = rng.random()
    if k < 0.6:
        return digits
    if k < 0.75:
        return "+86 %s %s %s" % (digits[:3], digits[3:7], digits[7:])
    if k < 0.9:
        return "%s-%s-%s" % (digits[:3], digits[3:7], digits[7:])
    return "0086" + digits


def us_format(digits, rng):
    if rng.random() < 0.5:
        return "+1" + digits
    return "+1 (%s) %s-%s" % (digits[:3], digits[3:6], digits[6:])


def quote(cell):
    """RFC 4180 cell; quoted when needed (the reader trims unquoted blanks)."""
    if cell and (any(c in cell for c in ',"\r\n') or cell[0] in " \t" or cell[-1] in " \t"):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="CSV path (keep big files under /tmp)")
    ap.add_argument("--truth", help="truth JSON path (default: OUT.truth.json)")
    ap.add_argument("--broken-quoting-rate", type=float, default=0.0)
    ap.add_argument("--invalid-phone-rate", type=float, default=0.0)
    ap.add_argument("--duplicate-rate", type=float, default=0.0)
    ap.add_argument("--formula-cells", type=float, default=0.0)
    ap.add_argument("--multiline-rate", type=float, default=0.005,
                    help="notes spanning several lines (quoted newlines)")
    ap.add_argument("--us-rate", type=float, default=0.03)
    ap.add_argument("--gb18030", action="store_true")
    ap.add_argument("--bom", action="store_true", help="UTF-8 BOM (ignored with --gb18030)")
    ap.add_argument("--lf", action="store_true", help="LF line ends instead of CRLF")
    ap.add_argument("--list-max", type=int, default=1000,
                    help="line numbers listed per defect in the truth file")
    a = ap.parse_args()
    if a.broken_quoting_rate + a.invalid_phone_rate + a.duplicate_rate > 1:
        sys.exit("defect rates add up to more than 1")
    if a.rows > US_SPACE:
        sys.exit("at most %d rows" % US_SPACE)

    rng = random.Random(a.seed)
    encoding = "gb18030" if a.gb18030 else "utf-8"
    eol = "\n" if a.lf else "\r\n"
    truth = {"rows": a.rows, "seed": a.seed, "encoding": encoding, "default_country": "CN",
             "columns": HEADER, "required": ["name", "phone"],
             "reader": {"rows_ok": 0, "rows_failed": 0, "failed_by_reason": {"quote": 0}},
             "invalid_phone": 0, "duplicates": 0, "valid_unique": 0, "formula_cells": 0,
             "multiline_rows": 0, "lines": 0,
             "lines_of": {"quote": [], "invalid_phone": [], "duplicate": []}}
    recent_valid = []  # (kind, digits) of valid rows that duplicates copy
    line = 1
    out = open(a.out, "wb", buffering=1 << 20)
    if a.bom and not a.gb18030:
        out.write(b"\xef\xbb\xbf")
    chunk = [",".join(HEADER) + eol]

    def note(kind, row_line):
        lst = truth["lines_of"][kind]
        if len(lst) < a.list_max:
            lst.append(row_line)

    for i in range(a.rows):
        line += 1
        row_line = line
        r = rng.random()
        defect = None
        if r < a.broken_quoting_rate:
            defect = "quote"
        elif r < a.broken_quoting_rate + a.invalid_phone_rate:
            defect = "invalid_phone"
        elif r < a.broken_quoting_rate + a.invalid_phone_rate + a.duplicate_rate and recent_valid:
            defect = "duplicate"

        us = rng.random() < a.us_rate
        if us:
            city, area = US_CITIES[i % len(US_CITIES)]
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            name = first + " " + last
            digits = us_phone(i, area)
            phone = us_format(digits, rng)
            email = "%s.%s%d@%s" % (first.lower(), last.lower().replace("'", ""), i,
                                    rng.choice(EN_DOMAINS))
            address = "%d %s, %s" % (rng.randint(1, 9999), rng.choice(US_STREETS), city)
        else:
            if rng.random() < 0.9:
                name = rng.choice(SURNAMES) + "".join(
                    rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            else:
                name = rng.choice(EN_FIRST) + " " + rng.choice(EN_LAST)
            city, streets = CN_CITIES[rng.randrange(len(CN_CITIES))]
            digits = cn_phone(i)
            phone = cn_format(digits, rng)
            email = "u%d@%s" % (i, rng.choice(CN_DOMAINS))
            address = city + rng.choice(streets) + "%d号" % rng.randint(1, 999)
            if rng.random() < 0.3:
                address += ", %d室" % rng.randint(101, 2808)
        industry = INDUSTRIES[rng.randrange(len(INDUSTRIES))]
        size = str(rng.choice([rng.randint(1, 50), rng.randint(50, 1000), rng.randint(1000, 100000)]))
        y, m, d = rng.randint(2015, 2025), rng.randint(1, 12), rng.randint(1, 28)
        signup = "%04d-%02d-%02d" % (y, m, d)
        if rng.random() < 0.3:
            signup += " %02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59))
        budget = "%d.%02d" % (rng.randint(0, 2000000), rng.randint(0, 99))
        notes = rng.choice(NOTES)
        if rng.random() < a.formula_cells:
            notes = rng.choice(FORMULAS)
            truth["formula_cells"] += 1
        elif rng.random() < a.multiline_rate and defect != "quote":
            notes = "第一行\n第二行, \"quoted\"\nthird line"
        tags = ";|"[i % 2].join(rng.sample(TAGS, 3))

        if defect == "invalid_phone":
            phone = rng.choice(INVALID_PHONES)
        elif defect == "duplicate":
            kind, digits = recent_valid[rng.randrange(len(recent_valid))]
            phone = us_format(digits, rng) if kind == "us" else cn_format(digits, rng)

        cells = [quote(c) for c in (name, phone, email, city, address, industry, size, signup,
                                    budget, notes, tags)]
        if defect == "quote":
            k = rng.randrange(3)
            if k == 0:    # stray quote in an unquoted cell
                cells[0] = name[:1] + '"' + name[1:] + '"'
            elif k == 1:  # text after the closing quote
                cells[0] = '"' + name[:1] + '"' + name[1:] + "x"
            else:         # quote opened and never closed
                cells[0] = '"' + name
        text = ",".join(cells)
        line += text.count("\n")
        if "\n" in notes:
            truth["multiline_rows"] += 1
        chunk.append(text + eol)

        if defect == "quote":
            truth["reader"]["rows_failed"] += 1
            truth["reader"]["failed_by_reason"]["quote"] += 1
        else:
            truth["reader"]["rows_ok"] += 1
        if defect == "invalid_phone":
            truth["invalid_phone"] += 1
        elif defect == "duplicate":
            truth["duplicates"] += 1
        if defect is not None:
            note(defect, row_line)
        else:
            truth["valid_unique"] += 1
            recent_valid.append(("us" if us else "cn", digits))
            if len(recent_valid) > 10000:
                recent_valid[rng.randrange(10000)] = recent_valid.pop()

        if len(chunk) >= 4096:
            out.write("".join(chunk).encode(encoding))
            chunk = []
    out.write("".join(chunk).encode(encoding))
    out.close()
    truth["lines"] = line
    truth_path = a.truth or a.out + ".truth.json"
    with open(truth_path, "w") as f:
        json.dump(truth, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("wrote %s (%d rows, %d lines) and %s" % (a.out, a.rows, line, truth_path))


if __name__ == "__main__":
    main()
