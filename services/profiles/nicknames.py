"""Common UK given-name nicknames (formal name, nickname), shipped as data: the `nicknames` table
is filled from here by migration 0003, and search treats each pair as interchangeable."""
PAIRS = """
william:bill william:will william:billy william:liam robert:bob robert:rob robert:bobby robert:robbie
elizabeth:liz elizabeth:beth elizabeth:lizzie elizabeth:betty elizabeth:eliza elizabeth:libby
margaret:maggie margaret:peggy margaret:meg margaret:marge richard:dick richard:rick richard:richie
james:jim james:jimmy james:jamie john:jack john:johnny john:jon jonathan:jon jonathan:jonny
thomas:tom thomas:tommy michael:mike michael:mick michael:mickey christopher:chris christopher:kit
anthony:tony edward:ed edward:eddie edward:ted edward:ned daniel:dan daniel:danny david:dave
david:davy joseph:joe joseph:joey samuel:sam samuel:sammy benjamin:ben benjamin:benny alexander:alex
alexander:sandy alexandra:alex alexandra:sandra matthew:matt nicholas:nick nicholas:nicky
patrick:pat patrick:paddy peter:pete stephen:steve steven:steve andrew:andy andrew:drew
charles:charlie charles:chuck frederick:fred frederick:freddie henry:harry henry:hal
lawrence:larry laurence:larry leonard:len leonard:lenny philip:phil raymond:ray ronald:ron
donald:don gerald:gerry gregory:greg timothy:tim kenneth:ken douglas:doug terence:terry
catherine:kate catherine:cathy catherine:kathy katherine:kate katherine:katie kathleen:kath
susan:sue susan:suzy deborah:debbie deborah:deb rebecca:becky rebecca:becca jennifer:jenny
jennifer:jen victoria:vicky victoria:tori patricia:pat patricia:trish jacqueline:jackie
christine:chris christina:tina samantha:sam abigail:abbie abigail:abby natalie:nat
jessica:jess jessica:jessie josephine:jo joanne:jo amanda:mandy dorothy:dot dorothy:dolly
helen:nell eleanor:ellie eleanor:nell ellen:nell mary:molly mary:polly sarah:sally
frances:fran francis:frank gabriel:gabe nathaniel:nat zachary:zach oliver:ollie harold:harry
isabella:bella isabel:izzy isabelle:izzy annabel:annie ann:annie anne:annie louise:lou
""".split()

NICKNAMES = sorted({tuple(pair.split(":")) for pair in PAIRS})
