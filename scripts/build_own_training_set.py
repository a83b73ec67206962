# ruff: noqa: E501 -- a table of sentences reads better one family per line than wrapped
"""Build Plaint's own bilingual complaint set (data/own/complaints.csv) from templates + hand-written sentences.

    python scripts/build_own_training_set.py

Everything here was written for this project (licence: the project's own, Apache-2.0): the shipped category
models may learn from it commercially. Each category has several template FAMILIES per language, filled with
products of the shipped catalog (nlp/data/catalog.yaml), times, amounts and defects; a quarter of the families
(and a quarter of the hand-written sentences) never reach training: they are the `heldout` split that measures
the shipped models on wording they have not seen. Deterministic (seeded).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "own" / "complaints.csv"
PER_FAMILY = 9  # sentences drawn per template family

# product id -> (English names, Chinese names, English defects, Chinese defects)
GOODS: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "washing_machine": (["washing machine", "washer"], ["洗衣机", "滚筒洗衣机"],
                        ["leaks water all over the floor", "shakes violently on the spin cycle", "shows error E21"],
                        ["漏水漏得满地都是", "脱水的时候晃得很厉害", "一直显示E21故障"]),
    "dryer": (["tumble dryer", "dryer"], ["干衣机", "烘干机"],
              ["leaves the clothes damp", "stopped heating", "smells of burning"],
              ["烘完衣服还是湿的", "不加热了", "有一股烧焦味"]),
    "kettle": (["kettle", "electric kettle"], ["电水壶", "烧水壶"],
               ["leaks from the bottom", "doesn't switch off when the water boils", "makes the water taste of plastic"],
               ["底部漏水", "水开了不自动断电", "烧出来的水有塑料味"]),
    "blender": (["blender", "food processor"], ["搅拌机", "破壁机"],
                ["cracked the first time I used it", "smells like burning plastic", "stops after ten seconds"],
                ["第一次用杯子就裂了", "一开就有烧焦的塑料味", "转十秒就停"]),
    "refrigerator": (["fridge", "refrigerator"], ["冰箱", "电冰箱"],
                     ["is not keeping food cold", "makes a loud humming noise", "has ice building up inside"],
                     ["不制冷，菜都坏了", "嗡嗡响吵得睡不着", "里面结了很厚的冰"]),
    "microwave": (["microwave"], ["微波炉"], ["sparks when I heat food", "doesn't heat at all", "has a turntable that won't turn"],
                  ["热东西的时候冒火花", "完全不加热", "转盘不转"]),
    "water_heater": (["water heater", "boiler"], ["热水器", "电热水器"],
                     ["gives no hot water", "leaks from the pipe", "keeps tripping the power"],
                     ["不出热水", "接口漏水", "一开就跳闸"]),
    "air_conditioner": (["air conditioner", "aircon"], ["空调"],
                        ["blows warm air", "drips water on the wall", "is extremely loud"],
                        ["吹出来的是热风", "往墙上滴水", "噪音特别大"]),
    "vacuum_cleaner": (["vacuum cleaner", "robot vacuum"], ["吸尘器", "扫地机器人"],
                       ["lost its suction", "keeps getting stuck", "runs flat in five minutes"],
                       ["吸力越来越小", "老是卡住不动", "电池只能用五分钟"]),
    "phone": (["phone", "smartphone"], ["手机"],
              ["went black", "won't charge", "restarts by itself"],
              ["黑屏了", "充不进电", "自己重启"]),
    "computer": (["laptop", "computer"], ["笔记本电脑", "电脑"],
                 ["overheats and shuts down", "has a flickering screen", "dies after an hour on battery"],
                 ["发烫然后自动关机", "屏幕一直闪", "电池一个小时就没电"]),
    "tablet": (["tablet"], ["平板电脑", "平板"], ["has an unresponsive touchscreen", "won't turn on", "has dead pixels"],
               ["触屏没反应了", "开不了机", "屏幕有坏点"]),
    "television": (["TV", "television"], ["电视", "电视机"], ["has no sound", "keeps restarting", "has a line across the picture"],
                   ["没有声音", "老是自动重启", "画面中间有一条线"]),
    "headphones": (["headphones", "earbuds"], ["耳机", "蓝牙耳机"],
                   ["only work on one side", "won't connect", "stopped charging"],
                   ["只有一边有声音", "连不上蓝牙", "充不进电"]),
    "smartwatch": (["smartwatch"], ["智能手表"], ["has a broken strap", "won't sync", "cracked by itself"],
                   ["表带断了", "同步不了数据", "屏幕自己裂了"]),
}
SERVICES: dict[str, tuple[list[str], list[str]]] = {
    "mobile_plan": (["mobile plan", "phone plan", "SIM card"], ["手机套餐", "流量套餐", "手机卡"]),
    "broadband": (["broadband", "home internet"], ["宽带", "家里的网络"]),
    "delivery_service": (["parcel", "delivery"], ["快递", "包裹"]),
    "bank_card": (["bank card", "credit card", "debit card"], ["银行卡", "信用卡"]),
    "bank_account": (["bank account", "online banking"], ["银行账户", "手机银行"]),
}
WHEN_EN = ["last week", "two weeks ago", "on Monday", "yesterday", "a month ago", "three days ago"]
WHEN_ZH = ["上周", "两周前", "周一", "昨天", "一个月前", "三天前"]
AMOUNT_EN = ["$45", "$120", "£30", "89 euros", "$15.99", "$300"]
AMOUNT_ZH = ["300元", "99块", "1200元", "¥58", "两百块", "45元"]
N = ["2", "3", "4", "5", "10"]

# category -> template families per language; {p} product name, {d} defect, {w} when, {a} amount, {n} number.
# Families marked with a leading "S:" take a service product (mobile plan, broadband, bank card...).
EN: dict[str, list[str]] = {
    "product_quality": [
        "The {p} I bought {w} {d}.", "My new {p} {d}, really poor quality.",
        "Brand new {p} and it already {d}. Not acceptable.", "The replacement {p} {d} too, this is the second one.",
        "S:My {s} keeps cutting out every evening and nothing works.",
        "I got the {p} {w}; it {d} and now it won't turn on at all.",
        "S:The {s} stopped working properly {w}, it is unusable.", "Is it normal that a {p} {d} after {n} days?",
        "The {p} is faulty: it {d}. I want a replacement.", "Really unhappy, my {p} {d} and I have barely used it.", "S:The {s} is so unreliable that I can't work from home.", "Your {p} {d}. Cheap materials, terrible build.",
    ],
    "service_attitude": [
        "The staff at your store were rude when I asked about my {p}.",
        "Your agent hung up on me when I called about the {p}.",
        "I have called {n} times about my {s} and nobody ever calls back.",
        "The technician who came to fix the {p} was rude and left a mess.",
        "Nobody answers the chat, I have been waiting {n} hours for help with my {s}.",
        "The person on the phone was sarcastic and refused to help me with the {p}.",
        "Your employee shouted at me in front of other customers.",
        "Customer service keeps sending me copy-paste answers about my {s} without reading my message.",
        "I was treated like a liar when I brought the {p} back to the shop.", "The support team promised to call me about my {s} and never did.", "Your staff were dismissive and didn't even look at the {p}.", "Worst customer service ever, nobody cares about my {s} problem.",
    ],
    "delivery_logistics": [
        "My {p} was supposed to arrive {w} but it still hasn't come.",
        "The {p} arrived in a crushed box with a big dent.",
        "The courier left my {p} outside in the rain.",
        "I received the wrong item instead of the {p} I ordered.",
        "Tracking for my {p} has not updated for {n} days.",
        "The delivery driver never rang the bell and the {p} went back to the depot.",
        "Half of my order is missing, the {p} was not in the parcel.",
        "Delivery of the {p} was rescheduled {n} times, I keep taking days off for nothing.",
        "The {p} is lost somewhere, the courier says it was delivered but I have nothing.", "I waited at home all day for the {p} and nobody turned up.", "The {p} came {n} weeks late.", "The parcel with my {p} was opened and the accessories are missing.",
    ],
    "billing_refund": [
        "I was charged twice for the {p}.", "I returned the {p} {w} and still have no refund.",
        "You charged me {a} more than the price shown for the {p}.",
        "My {s} bill has charges I never agreed to.",
        "I cancelled the order {w} but {a} was still taken from my account.",
        "Where is my refund of {a} for the {p}?", "The invoice for the {p} shows the wrong amount.",
        "S:There is a fee of {a} on my {s} that nobody can explain.",
        "I am still waiting for the money back for the {p} I returned.", "The {p} was on sale but I paid full price at the till.", "S:My {s} payment went out twice this month.", "Please refund the {a} you took by mistake.",
    ],
    "booking_account": [
        "I can't log into my account to check my {p} order.",
        "My account was locked after I reset the password {w}.",
        "I booked an installation for the {p} {w} and the appointment was cancelled without telling me.",
        "I can't change the delivery address in my account.",
        "I want to close my {s} account but the website won't let me.",
        "The app says my email is already registered but I never signed up.",
        "I tried to cancel my {s} contract online but there is no option to do it.",
        "The booking system keeps giving me an error when I try to choose a repair slot for the {p}.",
        "I can't sign in to the app since the update.", "The repair appointment for my {p} was moved without asking me.", "S:I need to update my details on my {s} account but the form keeps failing.", "My verification code never arrives so I can't access my account.",
    ],
    "other": [
        "Do you have the {p} in another colour?", "What are your opening hours at the weekend?",
        "I would like to suggest that you add more payment options.",
        "Please stop sending me marketing messages every day.",
        "I want to know how you use my personal data.", "Is there a store near the city centre where I can see the {p}?",
        "Can you tell me how long the warranty on the {p} is?", "I just wanted to say the new website is confusing.",
        "Do you sell gift cards?", "Could you tell me whether the {p} comes with a plug adapter?", "I'd like to give feedback about your new store layout.", "How do I recycle my old {p} with you?",
    ],
}
ZH: dict[str, list[str]] = {
    "product_quality": [
        "{w}买的{p}{d}。", "新买的{p}{d}，质量太差了。", "全新的{p}，结果{d}，不能接受。", "换了一台{p}还是{d}，已经第二台了。",
        "S:我的{s}每天晚上都断，根本没法用。", "{w}收到的{p}，{d}，现在干脆开不了机。",
        "S:{s}从{w}开始就不正常，完全用不了。", "{p}才用了{n}天就{d}，正常吗？",
        "{p}是坏的，{d}，我要换新的。", "很不满意，{p}没用几次就{d}。", "S:{s}太不稳定了，在家根本没法办公。", "你们的{p}{d}，用料太差了。",
    ],
    "service_attitude": [
        "问你们门店店员{p}的问题，态度特别差。", "打电话问{p}的事，客服直接挂我电话。",
        "为了{s}的事打了{n}次电话，没有一个人回电。", "上门修{p}的师傅态度很差，还弄得一地脏。",
        "在线客服一直没人回，我等了{n}个小时，{s}的问题还是没人管。", "电话那头的客服阴阳怪气，{p}的问题根本不帮我解决。",
        "你们的员工当着其他顾客的面吼我。", "客服每次都复制粘贴同样的话，根本没看我关于{s}的留言。",
        "拿{p}回店里，店员把我当骗子一样对待。", "客服答应给我回电话说{s}的事，结果一直没打。", "你们的员工很敷衍，连{p}都不看一眼。", "客服太差了，{s}的问题根本没人在乎。",
    ],
    "delivery_logistics": [
        "说好{w}到的{p}到现在还没送到。", "{p}送来的时候箱子都压扁了，还有个大凹坑。", "快递员把我的{p}直接放在门外淋雨。",
        "我买的是{p}，结果送来的是别的东西。", "{p}的物流信息{n}天没更新了。", "送货的人根本没敲门，{p}又被退回仓库了。",
        "订单少了一半，{p}根本不在包裹里。", "{p}的配送改了{n}次时间，我请假在家白等。",
        "{p}丢了，快递说已经送到，可我什么都没收到。", "为了等{p}在家等了一整天，结果没人来。", "{p}晚了{n}个星期才到。", "装{p}的包裹被拆开过，配件都不见了。",
    ],
    "billing_refund": [
        "买{p}被扣了两次钱。", "{w}就把{p}退回去了，到现在还没退款。", "买{p}实际扣的钱比页面上的价格多了{a}。",
        "我的{s}账单里有我从来没同意过的费用。", "{w}就取消订单了，还是被扣了{a}。", "{p}的{a}退款到底什么时候到？",
        "{p}的发票金额开错了。", "S:{s}莫名其妙多了一笔{a}的费用，谁也解释不清楚。",
        "{p}退回去了，钱还是没退给我。", "{p}明明在打折，结账的时候却按原价收的。", "S:这个月{s}的费用被扣了两次。", "你们多扣的{a}请退给我。",
    ],
    "booking_account": [
        "登录不了账户，查不到{p}的订单。", "{w}重置密码以后账户就被锁了。", "约好{w}上门安装{p}，预约被取消了也没通知我。",
        "账户里改不了收货地址。", "想注销{s}账户，网站上就是不让注销。", "App说我的邮箱已经注册过了，可我从来没注册过。",
        "想在网上取消{s}合约，根本找不到入口。", "给{p}预约维修时间，预约系统一直报错。",
        "App更新以后就登录不上了。", "{p}的维修预约没问我就被改了时间。", "S:想在{s}账户里改个人信息，表单一直提交失败。", "验证码一直收不到，进不了账户。",
    ],
    "other": [
        "{p}有没有别的颜色？", "你们周末几点营业？", "建议你们多加几种付款方式。", "请不要每天给我发营销短信了。",
        "我想知道你们怎么使用我的个人信息。", "市中心有没有门店可以看看{p}的实物？", "{p}的保修期是多久？",
        "新版网站太难用了，想提个意见。",
        "你们卖礼品卡吗？", "请问{p}带不带转换插头？", "想对你们新门店的布局提点意见。", "旧的{p}能在你们这里回收吗？",
    ],
}
# Hand-written, not from templates: the way people actually write (typos, no punctuation, several things at once).
HANDWRITTEN = [
    ("en", "product_quality", "got the kettle for xmas and the handle already came off lol not funny"),
    ("en", "product_quality", "Second phone in a month with the same charging problem. Your products are junk."),
    ("en", "product_quality", "the wifi router you sent overheats and reboots every hour"),
    ("en", "product_quality", "TV remote buttons stick, volume goes up by itself"),
    ("en", "service_attitude", "I explained my problem three times and the agent just said 'not my department'"),
    ("en", "service_attitude", "your shop assistant ignored me for 20 min while chatting on her phone"),
    ("en", "service_attitude", "The manager promised a call back on Friday. Nothing. Again."),
    ("en", "service_attitude", "Nobody in your call centre seems to know anything and they are rude about it"),
    ("en", "delivery_logistics", "where is my order?? it says delivered but nothing at my door"),
    ("en", "delivery_logistics", "box arrived soaking wet and the fridge door is scratched"),
    ("en", "delivery_logistics", "They delivered to my old address even though I updated it"),
    ("en", "delivery_logistics", "the installer came a day early when nobody was home and just left"),
    ("en", "billing_refund", "charged me for premium support I never asked for"),
    ("en", "billing_refund", "refund was promised 5 working days ago, still nothing in my account"),
    ("en", "billing_refund", "my direct debit went out twice this month"),
    ("en", "billing_refund", "price dropped the day after I bought it, can I get the difference back?"),
    ("en", "booking_account", "password reset email never arrives"),
    ("en", "booking_account", "can't book a repair online, page just spins"),
    ("en", "booking_account", "someone changed the phone number on my account, not me!"),
    ("en", "booking_account", "My online banking login is blocked and the helpline is closed"),
    ("en", "other", "hi, do you price match other shops?"),
    ("en", "other", "just wondering if you deliver to the islands"),
    ("en", "other", "Please add an option to pay with PayPal"),
    ("en", "other", "Are you hiring for Christmas?"),
    ("zh", "product_quality", "买的电水壶把手用了三天就掉了"),
    ("zh", "product_quality", "手机充电一个月内出了两次同样的问题，什么破质量"),
    ("zh", "product_quality", "寄来的路由器发烫，每个小时自动重启一次"),
    ("zh", "product_quality", "电视遥控器按键卡住，音量自己往上加"),
    ("zh", "service_attitude", "我把问题讲了三遍，客服就一句不归我们管"),
    ("zh", "service_attitude", "店员一直在玩手机，让我等了二十分钟没人理"),
    ("zh", "service_attitude", "经理说周五给我回电话，结果又没消息"),
    ("zh", "service_attitude", "客服什么都不懂还态度恶劣"),
    ("zh", "delivery_logistics", "显示已签收但是门口什么都没有"),
    ("zh", "delivery_logistics", "箱子送来全湿了，冰箱门也刮花了"),
    ("zh", "delivery_logistics", "我已经改了地址，还是送到老地址去了"),
    ("zh", "delivery_logistics", "安装师傅提前一天来，家里没人就走了"),
    ("zh", "billing_refund", "给我开通了我没申请过的增值服务还扣钱"),
    ("zh", "billing_refund", "说好五个工作日退款，到现在一分钱没到"),
    ("zh", "billing_refund", "这个月自动扣款扣了两次"),
    ("zh", "billing_refund", "买完第二天就降价了，能退差价吗"),
    ("zh", "booking_account", "重置密码的邮件一直收不到"),
    ("zh", "booking_account", "网上预约维修页面一直转圈"),
    ("zh", "booking_account", "有人改了我账户绑定的手机号，不是我改的"),
    ("zh", "booking_account", "手机银行登录被锁，客服热线又下班了"),
    ("zh", "other", "你们可以比价吗"),
    ("zh", "other", "想问下偏远地区能送货吗"),
    ("zh", "other", "希望能支持支付宝付款"),
    ("zh", "other", "你们过年期间招临时工吗"),
    ("zh", "product_quality", "洗衣机转起来声音像拖拉机一样"),
    ("zh", "product_quality", "耳机戴了两天就有杂音"),
    ("zh", "product_quality", "新买的冰箱门关不严，冷气一直往外跑"),
    ("zh", "product_quality", "充电器插上手机就发烫，不敢用了"),
    ("zh", "service_attitude", "打了十几次客服电话都是忙音，好不容易接通了还被挂断"),
    ("zh", "service_attitude", "售后说话很冲，好像是我的错一样"),
    ("zh", "service_attitude", "门店经理答应给我处理，转头就不认账"),
    ("zh", "service_attitude", "在线客服只会发机器人回复"),
    ("zh", "delivery_logistics", "快递到了驿站也不通知我，过了三天被退回去了"),
    ("zh", "delivery_logistics", "送货师傅把空调扔在楼下就走了，不给搬上楼"),
    ("zh", "delivery_logistics", "物流一直显示运输中，已经一个礼拜了"),
    ("zh", "delivery_logistics", "说是次日达，结果第五天才到"),
    ("zh", "billing_refund", "退货都寄回去两个星期了，钱还没退"),
    ("zh", "billing_refund", "取消的订单还是从信用卡扣了钱"),
    ("zh", "billing_refund", "账单上多了一项我不知道的服务费"),
    ("zh", "billing_refund", "优惠券没用上，多付了二十块"),
    ("zh", "booking_account", "账号被盗了，绑定的邮箱也被改了"),
    ("zh", "booking_account", "换了手机号以后收不到验证码，登录不了"),
    ("zh", "booking_account", "预约的安装时间到了，系统里却找不到我的预约"),
    ("zh", "booking_account", "注销账户要打电话，电话又一直打不通"),
    ("zh", "other", "你们有没有会员积分活动"),
    ("zh", "other", "请问可以开增值税专用发票吗"),
    ("zh", "other", "门店停车方便吗"),
    ("zh", "other", "建议App加一个夜间模式"),
    ("en", "product_quality", "washing machine sounds like a jet engine when it spins"),
    ("en", "product_quality", "the new fridge door doesn't seal, cold air leaking out"),
    ("en", "service_attitude", "the chat bot just loops and no human ever joins"),
    ("en", "service_attitude", "your after-sales guy was really condescending"),
    ("en", "delivery_logistics", "parcel sat at the pickup point 3 days and nobody told me, now it's gone back"),
    ("en", "delivery_logistics", "they dropped the aircon at the bottom of the stairs and left"),
    ("en", "billing_refund", "coupon didn't apply at checkout so I paid $20 more"),
    ("en", "billing_refund", "there's a service fee on my bill I've never heard of"),
    ("en", "booking_account", "my account got hacked and they changed the email"),
    ("en", "booking_account", "new phone number so no codes, can't log in"),
    ("en", "other", "do you have a loyalty scheme?"),
    ("en", "other", "is there parking at the shop?"),
]


def _fill(template: str, lang: str, rng: random.Random) -> tuple[str, str]:
    """One sentence and the product it is about (the empty string when it names none)."""
    en = lang == "en"
    service_only = template.startswith("S:")
    template = template.removeprefix("S:")
    if "{s}" in template or service_only:
        product = rng.choice(sorted(SERVICES))
        names = SERVICES[product][0 if en else 1]
        text = template.replace("{s}", rng.choice(names))
    elif "{p}" in template:
        product = rng.choice(sorted(GOODS))
        en_names, zh_names, en_defects, zh_defects = GOODS[product]
        text = template.replace("{p}", rng.choice(en_names if en else zh_names))
        text = text.replace("{d}", rng.choice(en_defects if en else zh_defects))
    else:
        product, text = "", template
    text = text.replace("{w}", rng.choice(WHEN_EN if en else WHEN_ZH)).replace("{n}", rng.choice(N))
    text = text.replace("{a}", rng.choice(AMOUNT_EN if en else AMOUNT_ZH))
    return text, product


def build() -> list[dict[str, str]]:
    rng = random.Random(19)
    rows: list[dict[str, str]] = []
    for lang, table in (("en", EN), ("zh", ZH)):
        for category, families in table.items():
            for index, template in enumerate(families):
                split = "heldout" if index % 4 == 3 else "train"
                seen: set[str] = set()
                for _ in range(PER_FAMILY * 3):
                    text, product = _fill(template, lang, rng)
                    if text in seen:
                        continue
                    seen.add(text)
                    rows.append({"text": text, "lang": lang, "category": category, "product": product,
                                 "split": split, "source": f"template:{lang}:{category}:{index}"})
                    if len(seen) == PER_FAMILY:
                        break
    for index, (lang, category, text) in enumerate(HANDWRITTEN):
        rows.append({"text": text, "lang": lang, "category": category, "product": "",
                     "split": "heldout" if index % 4 == 3 else "train", "source": "handwritten"})
    return rows


def main() -> None:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "lang", "category", "product", "split", "source"])
        writer.writeheader()
        writer.writerows(rows)
    for lang in ("en", "zh"):
        for split in ("train", "heldout"):
            print(lang, split, sum(1 for r in rows if r["lang"] == lang and r["split"] == split))


if __name__ == "__main__":
    main()
