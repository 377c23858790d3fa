"""Word lists used by :mod:`jina_local.kinds` to tell source code from prose.

Pure data: frozensets of lower-case words. Kept apart from the logic so the tables can grow
without making the classifier harder to read. All lists were written for this project.
"""

from __future__ import annotations

__all__ = [
    "CODE_EXTENSIONS",
    "CODE_FILENAMES",
    "CODE_KEYWORDS",
    "IMAGE_EXTENSIONS",
    "PROSE_STOPWORDS",
    "SHELL_COMMANDS",
    "SQL_KEYWORDS",
    "TEXT_EXTENSIONS",
    "WEAK_STOPWORDS",
]

# Function words that are common in prose and (almost) never keywords or identifiers in code.
# Several languages, so prose in any of them gets the same evidence.
PROSE_STOPWORDS: frozenset[str] = frozenset(
    """
    the an of that are was were been being have has had we you they he she his her
    their our your its them us me my mine him there which who whom whose what because but so than
    very also about after before only just more most some such these those would could should
    might must shall will can may our onto upon into across during through until while although
    though whether either neither nor both every few many much own same too again further
    once why how other please thanks thank yes no

    der die das den dem des ein eine einen einem einer eines und ist sind war waren wird werden
    wurde nicht mit auf für von zu zum zur bei nach über unter auch noch nur schon sehr aber oder
    wenn weil dass ich du er sie wir ihr es sich mich dich uns euch mein dein sein haben hat hatte
    kann können muss müssen soll sollen wie was wo warum welche welcher diese dieser dieses man
    im am vom beim ins

    le la les un une des du de et est sont était été être avoir avons ont pour dans par sur avec
    sans mais ou donc car que qui quoi dont où il elle ils elles nous vous je tu ce cette ces son
    sa ses leur leurs mon ma mes au aux pas plus très aussi comme tout tous toute

    el los las una unos unas del al y es son fue era estar está están ser para por con sin pero
    como cuando donde porque que quien este esta estos estas ese esa su sus mi mis muy también
    ya hay lo le les nos se yo tú usted ellos ellas

    il lo gli di da della delle dei degli nel nella che è sono stato essere avere ha hanno per
    con non ma anche come quando perché questo questa quello quella

    uma não são foi ser ter tem em na no nas nos pelo pela para com mas também muito quando
    isso este esta esse essa seu sua

    het een en van ook zijn werd wordt niet maar voor met als bij dat deze dit

    и в во не на что с со как а но по из у за от до же ты вы мы он она они оно это этот эта
    эти то так был была были быть есть все всё его её их мне меня нас вас или если когда чтобы
    потому уже еще ещё очень только также где почему
    """.split()
)

# Words that prose uses a lot but that are also keywords in some languages (if, for, in, is, or,
# and, not, with, from, as, to, on, by, do, else, set). They count for prose at half weight.
WEAK_STOPWORDS: frozenset[str] = frozenset(
    """
    if for in is or and with from as to on by at do else when this it be new a not all any
    then each here
    """.split()
)

# Tokens that are distinctive of source code and rare as words in prose.
CODE_KEYWORDS: frozenset[str] = frozenset(
    """
    def elif cls lambda kwargs args isinstance len str int bool dict tuple
    __init__ __name__ __main__ nonlocal
    const var typeof instanceof undefined nullptr println printf fprintf sprintf
    func fn impl pub mut usize isize u8 u16 u32 u64 i32 i64 f32 f64
    void sizeof typedef namespace std cout cin endl malloc boolean readonly
    foreach elseif endif fi esac stdout stderr stdin argv argc fmt nil
    """.split()
)

# Lower-case command names that start one-line shell commands.
SHELL_COMMANDS: frozenset[str] = frozenset(
    """
    git pip pip3 pipx python python3 node npm npx yarn pnpm bun deno docker docker-compose podman
    kubectl helm terraform ansible ansible-playbook vagrant aws gcloud az gsutil
    curl wget ssh scp rsync sftp sudo su apt apt-get dpkg yum dnf rpm brew pacman snap
    cd ls ll la pwd mkdir rmdir rm cp mv ln touch chmod chown chgrp cat less more head tail
    grep egrep fgrep rg ag sed awk find xargs sort uniq wc cut tr tee diff patch
    tar zip unzip gzip gunzip bzip2 xz 7z
    export unset alias source env printenv which whereis echo printf read eval exec
    ps kill killall pkill top htop df du free uptime lsof netstat ss ip ifconfig ping dig nslookup
    traceroute systemctl journalctl service crontab nohup screen tmux
    make cmake gcc g++ clang clang++ cc ld go cargo rustc rustup javac java mvn gradle dotnet
    conda mamba poetry uv pytest tox ruff black mypy flake8 jupyter ipython
    psql mysql mysqldump pg_dump redis-cli mongo mongosh sqlite3
    openssl ssh-keygen gpg jq yq base64 md5sum sha256sum
    vim vi nano emacs code open xdg-open
    ffmpeg convert magick
    """.split()
)

# SQL words used to recognise statements and to count SQL structure.
SQL_KEYWORDS: frozenset[str] = frozenset(
    """
    select from where join left right inner outer full cross on group by order having limit
    offset insert into values update set delete create alter drop table index view primary key
    foreign references not null unique default distinct as and or in is like between union all
    exists case when then else end count sum avg min max coalesce returning with over partition
    desc asc serial varchar integer text timestamp boolean constraint truncate grant revoke
    explain analyze schema tables show describe use vacuum begin commit rollback if
    """.split()
)

# File extensions (lower case, with dot) of image formats PIL can usually open.
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    """
    .png .jpg .jpeg .jpe .jfif .gif .webp .bmp .dib .tif .tiff .ico .ppm .pgm .pbm .pnm .tga
    .avif .heic .heif .jp2 .j2k .psd .icns .pcx .sgi .dds .qoi
    """.split()
)

# Extensions of source, markup and configuration files: a path with one of these is "code".
CODE_EXTENSIONS: frozenset[str] = frozenset(
    """
    .py .pyi .pyx .js .mjs .cjs .jsx .ts .mts .cts .tsx .java .kt .kts .scala .groovy .gradle
    .go .rs .c .h .cc .cpp .cxx .hpp .hh .hxx .cs .fs .vb .swift .m .mm .rb .php .pl .pm .lua .r
    .jl .dart .ex .exs .erl .hs .ml .clj .elm .zig .nim .v .sv .vhd
    .sh .bash .zsh .fish .ps1 .psm1 .bat .cmd .sql .psql
    .html .htm .xhtml .xml .xsl .svg .css .scss .sass .less .vue .svelte .astro
    .json .jsonc .json5 .ndjson .yaml .yml .toml .ini .cfg .conf .properties .env .tf .hcl
    .proto .graphql .gql .dockerfile .mk .cmake .nix .bzl .ipynb
    """.split()
)

# File names (lower case) without a telling extension that hold code or build configuration.
CODE_FILENAMES: frozenset[str] = frozenset(
    """
    dockerfile containerfile makefile gnumakefile cmakelists.txt jenkinsfile vagrantfile gemfile
    rakefile procfile justfile .bashrc .zshrc .profile .bash_profile .gitignore .dockerignore
    .editorconfig .gitattributes
    """.split()
)

# Extensions of prose documents: a path with one of these is "text" (markdown included).
TEXT_EXTENSIONS: frozenset[str] = frozenset(
    """
    .txt .text .md .markdown .mdx .rst .adoc .asciidoc .org .log .csv .tsv .rtf .tex .srt .vtt
    """.split()
)
