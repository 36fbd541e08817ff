"""Text that the field corpus's speech synthesizers read: varied English paragraphs and a few
other languages, written for this benchmark. Sentences are spoken one or two at a time;
`VOCABULARY` also feeds short word sequences that fill the end of a recording.
"""

ENGLISH = """
Good morning, and thank you for calling the support line. Before we start, could you read me
the serial number on the back of the unit? It begins with two letters and ends with six digits.
Thanks. I can see that the router was registered in March, so it is still under warranty.
Let us try something simple first: unplug the power cable, count to thirty, and plug it back in.
The lights on the front should blink amber for a while and then turn steady green.

The forecast for the weekend looks mixed. Saturday starts grey with light rain in the west,
clearing by the afternoon, with highs of around fourteen degrees. On Sunday a cold front moves
in from the north, bringing gusty winds along the coast and a chance of hail in the hills.
Drivers should expect fog on the valley roads early on Monday morning.

To make the soup, chop two onions, three carrots and a stick of celery into small cubes.
Warm a spoonful of olive oil in a heavy pot and let the vegetables soften for ten minutes.
Add the lentils, a bay leaf and a litre of stock, then simmer until everything is tender.
Season with salt, pepper and a squeeze of lemon just before you serve it.

And they are off! Number seven takes an early lead on the inside, with the favourite tucked in
behind. Coming round the final bend it is still anybody's race. The crowd is on its feet as the
two leaders pull clear, and at the line it is a photo finish between the grey and the chestnut.

Our quarterly figures came in slightly above expectations. Revenue grew by four point two
percent, driven mostly by the new subscription plans, while costs stayed flat. We hired
twelve engineers and opened a small office in Lisbon. Next quarter we will focus on reliability,
on shorter delivery times, and on the mobile application that many of you have asked about.

The old lighthouse stood at the end of the pier for more than a century. Every evening the
keeper climbed the one hundred and twelve steps to light the lamp, and every morning he wrote
the weather in a thick leather book. When the storm of nineteen fifty two flooded the harbour,
that book was the only thing he carried down the stairs.

Please remember that the library closes early on public holidays. Returned books can be left in
the box by the side entrance, and reservations may be collected from the front desk until noon.
If you have lost your card, bring a photo identity document and we will issue a new one for free.

So what I was trying to say is, we did not really plan any of it. We just packed the van,
picked a direction, and kept driving until the road ran out. Some nights we slept on the beach,
some nights in a field behind a farm. Honestly, it was the best summer I can remember.

Welcome to the seven o'clock news. The city council has approved plans for a new bridge across
the river, with work expected to begin next spring. Health officials are urging residents to
get their flu vaccine before the winter. In sport, the home side won their third match in a row.

Measure the distance between the two marks and write it down in millimetres. Then tighten the
screw by half a turn, check that the panel is level, and repeat the measurement. If the two
numbers differ by more than one millimetre, loosen the bracket and start again from the top.

Well, yes and no. The first version was faster, but it used far too much memory on older phones.
We rewrote the image cache, which fixed the crashes, and the start-up time came back down after
we moved the font loading out of the main thread. It is not perfect, but it is a lot better.

Flight two four nine to Copenhagen is now boarding at gate fourteen. Passengers with small
children or anyone needing assistance are welcome to board first. Please have your boarding pass
and passport ready, and make sure your hand luggage fits in the frame beside the desk.
"""

OTHER = {
    "de": """
Guten Morgen und herzlich willkommen. Heute sprechen wir über das Wetter in den Bergen.
Am Nachmittag wird es sonnig, aber am Abend ziehen dichte Wolken auf. Bitte nehmen Sie eine
warme Jacke mit, denn in der Nacht kann es frieren. Der Zug nach München fährt um acht Uhr
fünfzehn von Gleis drei. Wir wünschen Ihnen eine angenehme Reise und einen schönen Tag.
""",
    "fr": """
Bonjour à tous et merci d'être venus ce soir. Le marché ouvre à sept heures sur la grande place.
On y trouve du pain frais, des fromages de la région et des fruits de saison. Ensuite nous irons
au musée, qui présente une exposition sur les anciens bateaux du port. N'oubliez pas vos billets,
et surtout, prenez le temps de regarder la mer depuis la terrasse.
""",
    "es": """
Buenas tardes y bienvenidos al programa. Hoy hablamos con una cocinera que abrió su restaurante
hace veinte años en un pequeño pueblo de la costa. Cada mañana compra el pescado en el puerto y
prepara el menú según lo que encuentra. Dice que el secreto está en la paciencia y en el aceite
de oliva. Después de la pausa, escucharemos las noticias del tráfico y del tiempo.
""",
    "it": """
Buonasera e benvenuti. Il treno per Firenze partirà con circa dieci minuti di ritardo.
Nel frattempo vi ricordiamo che il bar della stazione resta aperto fino a mezzanotte.
Domani mattina il museo apre alle nove, e la visita guidata dura un'ora e mezza.
Portate con voi una bottiglia d'acqua, perché nel pomeriggio farà molto caldo.
""",
    "pt": """
Olá, bom dia a todos. Hoje vamos visitar o mercado antigo da cidade, onde se vendem flores,
legumes e peixe fresco. Depois do almoço seguimos para o rio, onde há barcos que fazem passeios
curtos ao pôr do sol. Se estiver a chover, ficamos na biblioteca e vemos a exposição de mapas.
""",
    "nl": """
Goedemiddag en welkom bij de rondleiding. Dit gebouw is meer dan driehonderd jaar oud en werd
vroeger gebruikt als pakhuis voor koffie en specerijen. Let op de trappen, die zijn erg steil.
Na de rondleiding kunt u in het café iets drinken of een fiets huren voor een tocht langs de gracht.
""",
    "pl": """
Dzień dobry państwu. Pociąg do Krakowa odjedzie z peronu drugiego za około dziesięć minut.
Prosimy o zachowanie ostrożności przy wsiadaniu. W wagonie restauracyjnym można zamówić kawę,
herbatę i ciepłe posiłki. Życzymy państwu przyjemnej podróży i spokojnego wieczoru.
""",
    "sv": """
Hej och välkommen till morgonens program. I dag ska vi prata om hur man odlar tomater på balkongen.
Det viktigaste är mycket sol, jämn bevattning och en stor kruka. Efter nyheterna kommer vi att
höra mer om vädret, som ser ut att bli varmt och soligt under hela helgen.
""",
}


def sentences(text: str) -> list[str]:
    """The sentences of a paragraph text, whitespace normalised."""
    flat = " ".join(text.split())
    out, current = [], []
    for word in flat.split(" "):
        current.append(word)
        if word.endswith((".", "?", "!")):
            out.append(" ".join(current))
            current = []
    if current:
        out.append(" ".join(current))
    return out


SENTENCES = {"en": sentences(ENGLISH), **{lang: sentences(text) for lang, text in OTHER.items()}}
VOCABULARY = {
    lang: sorted({w.strip(".,?!'").lower() for s in items for w in s.split() if len(w.strip(".,?!'")) > 2})
    for lang, items in SENTENCES.items()
}
